"""One fixture per verified export profile: the export's real header row, as the cited source has
it (`tracking/ingest/profiles/data/<key>.toml`), and rows of invented values.

Plain Python data, so the same fixture can be written as CSV, `.xlsx` or `.xls` by a test.
`expect` is what the first row's cell holds for each field the profile maps, as exported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExportFixture:
    key: str
    headers: tuple[str, ...]
    rows: tuple[Mapping[str, str], ...]
    expect: Mapping[str, str] = field(default_factory=dict)

    def table(self) -> list[list[str]]:
        """The header row then every row, each cell in header order ("" where a row is silent)."""
        return [list(self.headers)] + [[row.get(h, "") for h in self.headers] for row in self.rows]


def _fixture(
    key: str, headers: Sequence[str], rows: Sequence[Mapping[str, str]], expect: Mapping[str, str]
) -> ExportFixture:
    unknown = {h for row in rows for h in row} - set(headers)
    assert not unknown, f"{key}: rows name headers the export lacks: {sorted(unknown)}"
    return ExportFixture(key, tuple(headers), tuple(rows), dict(expect))


FIXTURES: dict[str, ExportFixture] = {}

# fmt: off


def _add(fixture: ExportFixture) -> None:
    assert fixture.key not in FIXTURES
    FIXTURES[fixture.key] = fixture


# plurantee/posms ExcelFileService.processShopeeExcelFile (Shopee PH Order.all workbook)
_add(
    _fixture(
        "shopee-order-all",
        [
            "Order ID", "Order Status", "Return / Refund Status", "Tracking Number*",
            "Shipping Option", "Shipment Method", "Estimated Ship Out Date", "Ship Time",
            "Order Creation Date", "Order Paid Time", "Parent SKU Reference No.", "Product Name",
            "SKU Reference No.", "Variation Name", "Original Price", "Deal Price", "Quantity",
            "Product Subtotal", "Total Discount(PHP)", "Price Discount(from Seller)(PHP)",
            "Shopee Rebate(PHP)", "SKU Total Weight", "Number of Items in Order",
            "Order Total Weight", "Seller Voucher(PHP)", "Seller Absorbed Coin Cashback",
            "Shopee Voucher(PHP)", "Bundle Deals Indicator(Y/N)", "Shopee Bundle Discount(PHP)",
            "Seller Bundle Discount(PHP)", "Shopee Coins Offset(PHP)",
            "Credit Card Discount Total(PHP)", "Products' Price Paid by Buyer (PHP)",
            "Buyer Paid Shipping Fee", "Shipping Rebate Estimate", "Reverse Shipping Fee",
            "Service Fee", "Grand Total", "Estimated Shipping Fee", "Username (Buyer)",
            "Receiver Name", "Phone Number", "Delivery Address", "Town", "District", "Province",
            "Region", "Country", "Zip Code", "Remark from buyer", "Order Complete Time", "Note",
        ],
        [
            {
                "Order ID": "2610140PQRS7KX", "Order Status": "Completed",
                "Tracking Number*": "PH2612345678901", "Shipping Option": "J&T Express",
                "Ship Time": "2026-10-15 11:02", "Order Creation Date": "2026-10-14 09:12",
                "Product Name": "Phone case", "Quantity": "1", "Username (Buyer)": "buyer_one",
                "Country": "PH", "Zip Code": "1100",
            },
            {
                "Order ID": "2610140PQRS7KX", "Order Status": "Completed",
                "Tracking Number*": "PH2612345678901", "Shipping Option": "J&T Express",
                "Ship Time": "2026-10-15 11:02", "Order Creation Date": "2026-10-14 09:12",
                "Product Name": "Screen film", "Quantity": "2", "Username (Buyer)": "buyer_one",
                "Country": "PH", "Zip Code": "1100",
            },
        ],
        {
            "order_id": "2610140PQRS7KX", "order_date": "2026-10-14 09:12",
            "tracking_number": "PH2612345678901", "carrier": "J&T Express",
            "ship_date": "2026-10-15 11:02", "destination_country": "PH",
            "destination_postal_code": "1100",
        },
    )
)

# jeffpham2906/JP-Manager server/types/order.d.ts (TikTok Shop order export)
_add(
    _fixture(
        "tiktok-shop-orders",
        [
            "Order ID", "Order Status", "Order Substatus", "Cancelation/Return Type",
            "Normal or Pre-order", "SKU ID", "Seller SKU", "Product Name", "Variation",
            "Quantity", "Sku Quantity of return", "SKU Unit Original Price",
            "SKU Subtotal Before Discount", "SKU Platform Discount", "SKU Seller Discount",
            "SKU Subtotal After Discount", "Shipping Fee After Discount", "Original Shipping Fee",
            "Shipping Fee Seller Discount", "Shipping Fee Platform Discount",
            "Payment platform discount", "Taxes", "Order Amount", "Order Refund Amount",
            "Created Time", "Paid Time", "RTS Time", "Shipped Time", "Delivered Time",
            "Cancelled Time", "Cancel By", "Cancel Reason", "Fulfillment Type", "Warehouse Name",
            "Tracking ID", "Delivery Option", "Shipping Provider Name", "Buyer Message",
            "Buyer Username", "Recipient", "Phone #", "Country", "Province", "District", "Commune",
            "Detail Address", "Additional address information", "Payment Method", "Weight(kg)",
            "Product Category", "Package ID", "Seller Note", "Checked Status", "Checked Marked by",
        ],
        [
            {
                "Order ID": "578123456789012345", "Order Status": "Shipped", "Seller SKU": "TS-01",
                "Quantity": "1", "Order Amount": "189000", "Created Time": "14/10/2026 09:12:44",
                "Shipped Time": "15/10/2026 08:00:03", "Tracking ID": "SPXVN061234567890",
                "Shipping Provider Name": "SPX Express", "Country": "Vietnam",
                "Package ID": "1153123456789012345",
            },
        ],
        {
            "order_id": "578123456789012345", "order_date": "14/10/2026 09:12:44",
            "ship_date": "15/10/2026 08:00:03", "tracking_number": "SPXVN061234567890",
            "carrier": "SPX Express", "destination_country": "Vietnam", "order_value": "189000",
        },
    )
)

# plurantee/posms ExcelFileService.setLazadaOrderFromExcelHashMap (camelCase Lazada export)
_add(
    _fixture(
        "lazada-orders",
        [
            "orderItemId", "orderType", "Guarantee", "deliveryType", "lazadaId", "sellerSku",
            "lazadaSku", "wareHouse", "createTime", "updateTime", "rtsSla", "ttsSla",
            "orderNumber", "invoiceRequired", "invoiceNumber", "deliveredDate", "customerName",
            "customerEmail", "nationalRegistrationNumber", "shippingName", "shippingAddress",
            "shippingAddress2", "shippingAddress3", "shippingAddress4", "shippingAddress5",
            "shippingPhone", "shippingPhone2", "shippingCity", "shippingPostCode",
            "shippingCountry", "shippingRegion", "billingName", "billingAddr", "billingAddr2",
            "billingAddr3", "billingAddr4", "billingAddr5", "billingPhone", "billingPhone2",
            "billingCity", "billingPostCode", "billingCountry", "taxCode", "branchNumber",
            "taxInvoiceRequested", "payMethod", "paidPrice", "unitPrice", "sellerDiscountTotal",
            "shippingFee", "walletCredit", "itemName", "variation", "cdShippingProvider",
            "shippingProvider", "shipmentTypeName", "shippingProviderType", "cdTrackingCode",
            "trackingCode", "trackingUrl", "shippingProviderFM", "trackingCodeFM",
            "promisedShippingTime", "premium", "status", "buyerFailedDeliveryReturnInitiator",
            "buyerFailedDeliveryReason", "buyerFailedDeliveryDetail",
            "buyerFailedDeliveryUserName", "bundleId", "bundleDiscount", "refundAmount",
        ],
        [
            {
                "orderItemId": "600123456789001", "orderNumber": "600123456789000",
                "createTime": "14 Oct 2026 09:12", "shippingCity": "Quezon City",
                "shippingPostCode": "1100", "shippingCountry": "Philippines",
                "shippingProvider": "LEX PH", "trackingCode": "PH26101234567X",
                "shippingProviderFM": "YTO Express", "trackingCodeFM": "YT2610141234567",
                "status": "shipped",
            },
            {
                "orderItemId": "600123456789002", "orderNumber": "600123456789000",
                "createTime": "14 Oct 2026 09:12", "shippingCity": "Quezon City",
                "shippingPostCode": "1100", "shippingCountry": "Philippines",
                "shippingProvider": "LEX PH", "trackingCode": "PH26101234567X",
                "shippingProviderFM": "YTO Express", "trackingCodeFM": "YT2610141234567",
                "status": "shipped",
            },
        ],
        {
            "order_id": "600123456789000", "order_date": "14 Oct 2026 09:12",
            "tracking_number": "PH26101234567X", "carrier": "LEX PH",
            "destination_country": "Philippines", "destination_postal_code": "1100",
            "destination_city": "Quezon City",
        },
    )
)

# lthieu1123/ruby models/sale_order_management.py (_li_key: the earlier Lazada export)
_add(
    _fixture(
        "lazada-orders-legacy",
        [
            "Order Item Id", "Order Type", "Order Flag", "Lazada Id", "Seller SKU", "Lazada SKU",
            "Created at", "Updated at", "Order Number", "Invoice Required", "Customer Name",
            "Customer Email", "National Registration Number", "Shipping Name",
            "Shipping Address", "Shipping Address2", "Shipping Address3", "Shipping Address4",
            "Shipping Address5", "Shipping Phone Number", "Shipping Phone Number2",
            "Shipping City", "Shipping Postcode", "Shipping Country", "Shipping Region",
            "Billing Name", "Billing Address", "Billing Address2", "Billing Address3",
            "Billing Address4", "Billing Address5", "Billing Phone Number",
            "Billing Phone Number2", "Billing City", "Billing Postcode", "Billing Country",
            "Tax Code", "Branch Number", "Tax Invoice requested", "Payment Method", "Paid Price",
            "Unit Price", "Shipping Fee", "Wallet Credits", "Item Name", "Variation",
            "CD Shipping Provider", "Shipping Provider", "Shipment Type Name",
            "Shipping Provider Type", "CD Tracking Code", "Tracking Code", "Tracking URL",
            "Shipping Provider (first mile)", "Tracking Code (first mile)",
            "Tracking URL (first mile)", "Promised shipping time", "Premium", "Status",
            "Cancel / Return Initiator", "Reason", "Reason Detail", "Editor", "Bundle ID",
            "Bundle Discount", "Refund Amount",
        ],
        [
            {
                "Order Item Id": "21234567890001", "Lazada Id": "2345678", "Seller SKU": "LZ-9",
                "Created at": "14 Oct 2026 09:12", "Order Number": "21234567890000",
                "Shipping City": "Hanoi", "Shipping Postcode": "100000",
                "Shipping Country": "Vietnam", "Shipping Provider": "LEX VN",
                "Tracking Code": "VNLEX2610140001", "Shipping Provider (first mile)": "ZTO",
                "Tracking Code (first mile)": "ZT26101400001", "Status": "delivered",
            },
        ],
        {
            "order_id": "21234567890000", "order_date": "14 Oct 2026 09:12",
            "tracking_number": "VNLEX2610140001", "carrier": "LEX VN",
            "destination_country": "Vietnam", "destination_postal_code": "100000",
            "destination_city": "Hanoi",
        },
    )
)

# airbytehq/airbyte schemas/GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL.json
_add(
    _fixture(
        "amazon-fulfilled-shipments",
        [
            "amazon-order-id", "merchant-order-id", "shipment-id", "shipment-item-id",
            "amazon-order-item-id", "merchant-order-item-id", "purchase-date", "payments-date",
            "shipment-date", "reporting-date", "buyer-email", "buyer-name", "buyer-phone-number",
            "sku", "product-name", "quantity-shipped", "currency", "item-price", "item-tax",
            "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
            "ship-service-level", "recipient-name", "ship-address-1", "ship-address-2",
            "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
            "ship-phone-number", "bill-address-1", "bill-address-2", "bill-address-3",
            "bill-city", "bill-state", "bill-postal-code", "bill-country",
            "item-promotion-discount", "ship-promotion-discount", "carrier", "tracking-number",
            "estimated-arrival-date", "fulfillment-center-id", "fulfillment-channel",
            "sales-channel",
        ],
        [
            {
                "amazon-order-id": "205-1234567-7654321", "shipment-id": "DxY7Kq2Mn",
                "shipment-item-id": "DkQ1vN0aB", "purchase-date": "2026-10-14T09:12:44+00:00",
                "shipment-date": "2026-10-15T11:02:00+00:00", "sku": "MUG-01",
                "quantity-shipped": "1", "currency": "GBP", "ship-city": "Leeds",
                "ship-postal-code": "LS1 4AP", "ship-country": "GB", "carrier": "Royal Mail",
                "tracking-number": "QF123456785GB", "fulfillment-center-id": "LBA4",
            },
        ],
        {
            "order_id": "205-1234567-7654321", "order_date": "2026-10-14T09:12:44+00:00",
            "ship_date": "2026-10-15T11:02:00+00:00", "tracking_number": "QF123456785GB",
            "carrier": "Royal Mail", "destination_country": "GB",
            "destination_postal_code": "LS1 4AP", "destination_city": "Leeds", "currency": "GBP",
        },
    )
)

# https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes (All Orders)
_add(
    _fixture(
        "amazon-all-orders",
        [
            "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
            "order-status", "fulfillment-channel", "sales-channel", "order-channel",
            "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity",
            "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
            "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
            "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code",
            "ship-country", "promotion-ids", "is-business-order", "purchase-order-number",
            "price-designation",
        ],
        [
            {
                "amazon-order-id": "114-7654321-1234567",
                "purchase-date": "2026-10-14T09:12:44+00:00",
                "order-status": "Shipped", "item-status": "Shipped", "currency": "USD",
                "ship-city": "Austin", "ship-postal-code": "78701", "ship-country": "US",
            },
        ],
        {
            "order_id": "114-7654321-1234567", "order_date": "2026-10-14T09:12:44+00:00",
            "destination_country": "US", "destination_postal_code": "78701",
            "destination_city": "Austin", "currency": "USD",
        },
    )
)

# https://developer-docs.amazon.com/sp-api/docs/order-reports-attributes (Unshipped Orders)
_add(
    _fixture(
        "amazon-unshipped-orders",
        [
            "order-id", "order-item-id", "purchase-date", "payments-date", "reporting-date",
            "promise-date", "days-past-promise", "buyer-email", "buyer-phone-number", "sku",
            "product-name", "quantity-purchased", "quantity-shipped", "quantity-to-ship",
            "ship-service-level", "recipient-name", "ship-address-1", "ship-address-2",
            "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
            "is-business-order", "purchase-order-number", "price-designation", "is-prime",
        ],
        [
            {
                "order-id": "028-1111111-2222222", "order-item-id": "12345678901234",
                "purchase-date": "2026-10-14T09:12:44+00:00", "quantity-to-ship": "1",
                "ship-city": "Lyon", "ship-postal-code": "69001", "ship-country": "FR",
            },
        ],
        {
            "order_id": "028-1111111-2222222", "order_date": "2026-10-14T09:12:44+00:00",
            "destination_country": "FR", "destination_postal_code": "69001",
            "destination_city": "Lyon",
        },
    )
)

# pillar09/zzerp src/com/zzerp/bill/BillController.java: the AliExpress order export
_add(
    _fixture(
        "aliexpress-orders",
        [
            "订单号", "订单状态", "负责人(业务员)", "买家名称", "下单时间", "付款时间",
            "产品总金额", "物流费用", "订单金额", "满立减",
            "产品信息\n（双击单元格展开所有产品信息！）", "订单备注", "收货地址", "收货人名称",
            "收货国家", "州/省", "城市", "地址", "邮编", "联系电话", "手机", "买家选择物流",
            "发货期限", "实际发货物流:运单号", "发货时间", "确认收货时间",
        ],
        [
            {
                "订单号": "8123456789012345", "订单状态": "等待买家收货",
                "下单时间": "2026-10-14 09:12", "订单金额": "$ 12.80", "收货国家": "France",
                "城市": "Lyon", "邮编": "69001", "买家选择物流": "AliExpress Standard Shipping",
                "实际发货物流:运单号": "AliExpress Standard Shipping:LP00123456789012",
                "发货时间": "2026-10-15 11:02",
            },
        ],
        {
            "order_id": "8123456789012345", "order_date": "2026-10-14 09:12",
            "ship_date": "2026-10-15 11:02",
            "tracking_number": "AliExpress Standard Shipping:LP00123456789012",
            "destination_country": "France", "destination_postal_code": "69001",
            "destination_city": "Lyon", "order_value": "$ 12.80",
        },
    )
)

# ruslanLagai/ozon-analytic-collector OzonPostingReportCsvParser.kt: the Ozon postings report,
# every column in order
_add(
    _fixture(
        "ozon-postings",
        [
            "Номер заказа", "Номер отправления", "Принят в обработку", "Дата отгрузки", "Статус",
            "Дата доставки", "Фактическая дата передачи в доставку", "Сумма отправления",
            "Код валюты отправления", "Название товара", "SKU", "Артикул", "Ваша цена",
            "Код валюты товара", "Оплачено покупателем", "Код валюты покупателя", "Количество",
            "Стоимость доставки", "Связанные отправления", "Выкуп товара",
            "Цена товара до скидок", "Скидка %", "Скидка руб", "Акции",
            "Объемный вес товаров, кг", "Кластер отгрузки", "Кластер доставки", "Склад отгрузки",
            "Регион доставки", "Город доставки", "Способ доставки", "Сегмент клиента",
            "Юридическое лицо", "Способ оплаты", "Адрес покупателя", "Имя покупателя",
        ],
        [
            {
                "Номер заказа": "0123456789-0001", "Номер отправления": "0123456789-0001-1",
                "Принят в обработку": "2026-10-14 09:12:44", "Дата отгрузки": "2026-10-15 18:00:00",
                "Статус": "Доставляется", "Сумма отправления": "1290",
                "Код валюты отправления": "RUB", "Название товара": "Кружка",
                "Артикул": "MUG-01", "Количество": "1", "Город доставки": "Казань",
            },
        ],
        {
            "order_id": "0123456789-0001", "order_date": "2026-10-14 09:12:44",
            "ship_date": "2026-10-15 18:00:00", "order_value": "1290", "currency": "RUB",
            "destination_city": "Казань",
        },
    )
)

# ssk1019/AuctionMg Models/SalesImport.go: the Shopee TW order CSV, 33 columns in order
_add(
    _fixture(
        "shopee-tw-orders",
        [
            "訂單編號", "訂單狀態", "退貨 / 退款狀態", "買家帳號", "訂單成立時間",
            "買家完成付款時間", "訂單小計 (TWD)", "買家支付的運費", "訂單總金額", "蝦幣折抵",
            "蝦皮發放折扣券", "賣家自設折扣券", "商品資訊", "促銷組合指標", "蝦皮促銷組合折扣",
            "收件地址", "國家", "城市", "行政區", "郵遞區號", "收件者姓名", "電話號碼", "寄送方式",
            "出貨方式", "訂單類型", "付款方式", "信用卡後四碼", "最晚出貨日期", "包裹查詢號碼",
            "實際出貨時間", "訂單完成時間", "買家備註", "備註",
        ],
        [
            {
                "訂單編號": "261014ABCDEF12", "訂單狀態": "已完成", "買家帳號": "buyer_tw",
                "訂單成立時間": "2026-10-14 09:12", "訂單總金額": "590", "國家": "TW",
                "城市": "台北市", "郵遞區號": "106", "收件者姓名": "王小明",
                "寄送方式": "黑貓宅急便", "包裹查詢號碼": "906123456789",
                "實際出貨時間": "2026-10-15 11:02",
            },
        ],
        {
            "order_id": "261014ABCDEF12", "order_date": "2026-10-14 09:12",
            "ship_date": "2026-10-15 11:02", "tracking_number": "906123456789",
            "carrier": "黑貓宅急便", "destination_country": "TW", "destination_city": "台北市",
            "destination_postal_code": "106", "order_value": "590",
        },
    )
)

# 5CORE-ALL/invent TemuController.php, avazquez0191/xom-server temu/columns.ts:
# the Temu seller order export
_add(
    _fixture(
        "temu-orders",
        [
            "Order ID", "Order Status", "Fulfillment Mode", "Logistics Service Suggestion",
            "Order Item ID", "Order Item Status", "Product Name by Customer Order",
            "Product Name", "Variation", "Contribution SKU", "SKU ID", "Quantity Purchased",
            "Quantity Shipped", "Quantity to Ship", "Recipient Name", "Recipient First Name",
            "Recipient Last Name", "Recipient Phone Number", "Ship Address 1", "Ship Address 2",
            "Ship Address 3", "District", "Ship City", "Ship State",
            "Ship Postal Code (Must be shipped to the following zip code.)", "Ship Country",
            "Purchase Date", "Latest Shipping Time", "Latest Delivery Time",
            "iPhone Serial Number", "Virtual Email", "Activity Goods Base Price",
            "Base Price Total", "Tracking Number", "Carrier", "Order Settlement Status",
            "Keep Proof of Shipment Before Delivery",
        ],
        [
            {
                "Order ID": "PO-211-01234567890123456", "Order Status": "Shipped",
                "Order Item ID": "211-09876543210987654", "Quantity Purchased": "1",
                "Quantity Shipped": "1", "Quantity to Ship": "0", "Ship City": "Denver",
                "Ship State": "CO",
                "Ship Postal Code (Must be shipped to the following zip code.)": "80202",
                "Ship Country": "United States", "Purchase Date": "2026-10-14 09:12:44",
                "Tracking Number": "9400111899223344556677", "Carrier": "USPS",
            },
        ],
        {
            "order_id": "PO-211-01234567890123456", "order_date": "2026-10-14 09:12:44",
            "tracking_number": "9400111899223344556677", "carrier": "USPS",
            "destination_country": "United States", "destination_city": "Denver",
            "destination_postal_code": "80202",
        },
    )
)
# fmt: on

# ERP exports and the later ones register themselves in their own modules (this one would pass
# 500 lines).
from tests import profile_fixtures_erp, profile_fixtures_more  # noqa: E402, F401
