"""One module per platform, each implementing ``base.Platform``; ``PLATFORMS`` finds them."""

from orderly.integrations.models import Platform as PlatformKey
from orderly.integrations.platforms.base import Platform
from orderly.integrations.platforms.hungerstation import HungerStation
from orderly.integrations.platforms.salla import Salla
from orderly.integrations.platforms.shopify import Shopify
from orderly.integrations.platforms.woocommerce import WooCommerce
from orderly.integrations.platforms.zid import Zid

PLATFORMS: dict[PlatformKey, Platform] = {
    PlatformKey.SALLA: Salla(),
    PlatformKey.ZID: Zid(),
    PlatformKey.SHOPIFY: Shopify(),
    PlatformKey.WOOCOMMERCE: WooCommerce(),
    PlatformKey.HUNGERSTATION: HungerStation(),
}
