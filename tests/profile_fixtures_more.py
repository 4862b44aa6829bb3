"""Fixtures of the exports verified later (Wish, ...): see tests/profile_fixtures.py."""

from __future__ import annotations

from tests.profile_fixtures import _add, _fixture

# fmt: off
# linwaiwai/spring-social-wish OrderTemplate.java (getAllOrderFromCVS): the Wish order CSV
_add(
    _fixture(
        "wish-orders",
        [
            "Transaction Date", "Order Id", "Transaction ID", "Order State", "SKU", "Product",
            "Product ID", "Product Link", "Product Image URL", "Size", "Color", "Price (each)",
            "Cost (each)", "Shipping (each)", "Shipping Cost (each)", "Quantity", "Total Cost",
            "Days to Fulfill", "Hours to Fulfill", "Shipped on", "Confirmed Delivery",
            "Provider", "Tracking", "Tracking Confirmed", "Tracking Confirmed Date",
            "Last Updated", "Shipping Address", "Name", "First Name", "Last Name",
            "Street Address 1", "Street Address 2", "City", "State", "Zipcode", "Country",
            "Phone Number", "Country Code", "% Refund Responsibility",
            "Refund Responsibility Amount", "Refund Date", "Refund Reason", "Is Wish Express",
            "Wish Express Delivery Deadline",
        ],
        [
            {
                "Transaction Date": "2026-10-14 09:12:44", "Order Id": "6a1f0c2b9d8e7f6a5b4c3d2e",
                "Transaction ID": "6a1f0c2a0b1c2d3e4f5a6b7c", "Order State": "SHIPPED",
                "SKU": "CASE-01", "Quantity": "1", "Total Cost": "9.40",
                "Shipped on": "2026-10-15", "Provider": "YanWen", "Tracking": "UG123456785YP",
                "Tracking Confirmed": "True", "Name": "Ana Lopez", "City": "Sevilla",
                "State": "Sevilla", "Zipcode": "41001", "Country": "ES", "Country Code": "ES",
            },
            {
                "Transaction Date": "2026-10-14 09:12:44", "Order Id": "6a1f0c2b9d8e7f6a5b4c3d2f",
                "Transaction ID": "6a1f0c2a0b1c2d3e4f5a6b7c", "Order State": "APPROVED",
                "SKU": "STRAP-02", "Quantity": "2", "Total Cost": "6.10", "City": "Sevilla",
                "Zipcode": "41001", "Country": "ES", "Country Code": "ES",
            },
        ],
        {
            "order_id": "6a1f0c2b9d8e7f6a5b4c3d2e", "order_date": "2026-10-14 09:12:44",
            "ship_date": "2026-10-15", "tracking_number": "UG123456785YP", "carrier": "YanWen",
            "destination_country": "ES", "destination_postal_code": "41001",
            "destination_city": "Sevilla", "order_value": "9.40",
        },
    )
)
# fmt: on
