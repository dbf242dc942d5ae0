"""Africa's Talking callbacks: USSD hops, USSD end-of-session events,
delivery reports and incoming SMS."""
