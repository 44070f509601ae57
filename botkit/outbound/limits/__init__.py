"""How fast each sender may send: rate tables, pacing to the slot, and the gate that orders requests
to Twilio by urgency."""
