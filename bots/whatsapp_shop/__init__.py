"""A WhatsApp business flow: a tea shop with a catalog of pictures and quick-reply buttons
(Content templates), a cart in the session, delivery to a shared location, order
confirmation, and a shipping notice that uses the approved template once the 24-hour window
has closed.

Run it with ``botkit run bots.whatsapp_shop`` and open the simulator as a WhatsApp user, or
``botkit chat bots.whatsapp_shop --whatsapp``; its tests, in tests/bots/test_whatsapp_shop.py,
show every feature in use.
"""

from bots.whatsapp_shop.bot import Shop, build

shop = build()
bot = shop.bot
records = shop.records

__all__ = ["Shop", "bot", "build", "records", "shop"]
