"""Each platform's order API, for the reconciliation poll, backfills and push back.

HungerStation (Delivery Hero's POS plugin API) has none: the platform sends orders to the
plugin and offers no order list for partners to read, so its connections take webhooks only.
"""

from orderly.integrations.channels.base import Channel
from orderly.integrations.channels.salla import SallaChannel
from orderly.integrations.channels.shopify import ShopifyChannel
from orderly.integrations.channels.woocommerce import WooCommerceChannel
from orderly.integrations.channels.zid import ZidChannel
from orderly.integrations.models import Platform

CHANNELS: dict[Platform, Channel] = {
    channel.platform: channel
    for channel in (ShopifyChannel(), WooCommerceChannel(), SallaChannel(), ZidChannel())
}
