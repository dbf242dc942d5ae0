"""The USSD side of the gateway: the provider callback, its session store,
and the actions and list sources the menus can use."""
