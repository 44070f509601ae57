"""Which intent wins when a message fits several, in one place so the order reads at a glance.

Highest first: a survey answer (a lone number, only while a survey waits), a request for a
person, commands that start the message ("ORDER 10042", "TICKET ..."), FAQ questions,
messages that mention a problem ("my parcel is damaged" is a problem before it is an order
question), and last, at the default 0, messages that mention an order.
"""

SURVEY_PRIORITY = 40
AGENT_PRIORITY = 30
COMMAND_PRIORITY = 20
FAQ_PRIORITY = 10
PROBLEM_PRIORITY = 5
