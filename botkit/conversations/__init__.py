"""Twilio Conversations v1 for bots: a typed async client over the official SDK, the errors it
raises, and a mirror of each conversation's participants that handlers read without an API call.

Modules: ``models`` (pydantic results), ``errors`` (Twilio codes as exceptions), ``limits``
(the checks made before calling Twilio), ``params`` (our arguments in the SDK's terms),
``client`` (``ConversationsClient``), ``mirror`` (the ``ParticipantMirror`` protocol and both
implementations: ``mirror_memory``, ``mirror_redis``, sharing ``mirror_entries``), ``wiring``
(building them from settings).
"""
