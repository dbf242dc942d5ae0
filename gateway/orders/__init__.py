"""Orders: a buyer reserves from a listing, the seller answers, unanswered
orders expire; every change is an event row."""
