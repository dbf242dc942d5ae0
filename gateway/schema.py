"""The whole schema: every feature's models, imported so that `Base.metadata`
holds every table. For Alembic (`gateway/migrations/env.py`) and the test that
compares the models with the migrations; code that uses a table imports the
feature's own `models` module instead."""
from gateway.core.models import Base
from gateway.market import alert_models as market_alerts
from gateway.market import models as market
from gateway.market import want_models as wants
from gateway.operators import models as operators
from gateway.orders import models as orders
from gateway.orders import outbox as order_outbox
from gateway.payments import models as payments
from gateway.sms import broadcast_models as sms_broadcasts
from gateway.sms import models as sms
from gateway.ussd import models as ussd

metadata = Base.metadata
FEATURES = (market, market_alerts, wants, operators, orders, order_outbox, payments, sms, sms_broadcasts,
            ussd)

__all__ = ["FEATURES", "Base", "metadata"]
