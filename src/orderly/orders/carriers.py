"""Carriers Orderly knows by code, with their public tracking pages.

A shipment's ``carrier`` is a known code (any case) or any other name, kept as sent. A known
carrier with a tracking page gets ``tracking_url`` filled in from its number when the client
sends none; the others need the client's URL.
"""

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_page: str | None = None  # with {number}


KNOWN = {
    carrier.code: carrier
    for carrier in (
        Carrier("aramex", "Aramex", "https://www.aramex.com/track/results?ShipmentNumber={number}"),
        Carrier(
            "smsa",
            "SMSA Express",
            "https://www.smsaexpress.com/trackingdetails?tracknumbers={number}",
        ),
        Carrier(
            "spl",
            "SPL (Saudi Post)",
            "https://splonline.com.sa/en/shipmentdetailsstatic/?tid={number}",
        ),
        Carrier(
            "dhl",
            "DHL Express",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
        ),
        Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
        Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={number}"),
        Carrier("redbox", "RedBox"),
        Carrier("naqel", "Naqel Express"),
        Carrier("jt", "J&T Express"),
        Carrier("imile", "iMile"),
        Carrier("jahez", "Jahez"),
        Carrier("hungerstation", "HungerStation"),
        Carrier("own", "Own delivery"),
    )
}


def normalize(carrier: str | None) -> str | None:
    """A known carrier's code whatever its case; any other name as sent."""
    if carrier is None:
        return None
    return carrier.lower() if carrier.lower() in KNOWN else carrier


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    """The known carrier's tracking page for ``number``, if it has one."""
    known = KNOWN.get(carrier or "")
    if known is None or known.tracking_page is None or not number:
        return None
    return known.tracking_page.format(number=quote(number, safe=""))


def display_name(carrier: str | None) -> str:
    known = KNOWN.get(carrier or "")
    return known.name if known else (carrier or "")
