"""The QR codes a reviewer scans: they open the carrier's public tracking page."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from tests.evidence_fixtures import RawStore, delivered_multi_leg, delivered_us, make_info
from tracking.evidence.fonts import get_font
from tracking.evidence.image import render_order_png


def test_delivered_image_qr_code_opens_the_carriers_public_page() -> None:
    store = RawStore()
    for order in (delivered_us(store), delivered_multi_leg(store)):
        assert order.public_url
        png = render_order_png(order, info=make_info(), font=get_font())
        with Image.open(io.BytesIO(png)) as image:
            found = [code.text for code in zxingcpp.read_barcodes(image.convert("L"))]
        assert order.public_url in found, (order.order_id, found)
