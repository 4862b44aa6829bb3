"""Fixtures of the ERP exports (店小秘 DianXiaoMi, 马帮 Mabang): see tests/profile_fixtures.py."""

from __future__ import annotations

from tests.profile_fixtures import _add, _fixture

# fmt: off
# dilfish/kd cusinfo/sql.go: the DianXiaoMi order workbook, 67 columns in order
_add(
    _fixture(
        "dianxiaomi-orders",
        [
            "下单时间", "付款时间", "提交时间", "发货时间", "退款时间", "面单打印时间",
            "拣货单打印时间", "买家账号", "买家姓名", "买家Email", "收货人姓名", "收货人公司",
            "收货人税号", "收货人门牌号", "详细地址", "地址1", "地址2", "地址1+地址2",
            "收货人城市", "收货人州/省", "邮编", "收货人国家", "中文国家名", "国家二字码",
            "收货人电话", "收货人手机", "SKU", "产品ID", "产品名称", "产品售价", "产品数量",
            "产品规格", "图片网址", "来源URL", "销售链接", "多品名", "付款方式", "币种缩写",
            "订单金额", "买家支付运费", "退款金额", "预估利润", "成本利润率", "销售利润率",
            "预估运费", "包裹号", "订单号", "交易号", "订单状态", "平台渠道", "店铺账号",
            "订单备注", "拣货备注", "客服备注", "退款理由", "订单标识", "订单标记",
            "买家指定物流", "物流方式", "运单号", "物流订单号", "称重重量", "中文报关名",
            "英文报关名", "申报单价", "报关重量", "海关编码",
        ],
        [
            {
                "下单时间": "2026-10-14 09:12:44", "发货时间": "2026-10-15 18:20:00",
                "收货人城市": "Madrid", "邮编": "28001", "收货人国家": "Spain",
                "中文国家名": "西班牙", "国家二字码": "ES", "SKU": "CASE-01", "产品数量": "1",
                "币种缩写": "USD", "订单金额": "15.90", "包裹号": "XM7A1B2C3D",
                "订单号": "8190000000000001", "平台渠道": "aliexpress", "店铺账号": "demo-store",
                "买家指定物流": "AliExpress Standard Shipping", "物流方式": "YunExpress 专线",
                "运单号": "YT2610141234567890",
            },
        ],
        {
            "order_id": "8190000000000001", "order_date": "2026-10-14 09:12:44",
            "ship_date": "2026-10-15 18:20:00", "tracking_number": "YT2610141234567890",
            "carrier": "YunExpress 专线", "destination_country": "ES",
            "destination_postal_code": "28001", "destination_city": "Madrid",
            "order_value": "15.90", "currency": "USD", "tenant": "demo-store",
            "marketplace": "aliexpress",
        },
    )
)

# linzeqi0925/lucky-order Dashboard.jsx / DataImport.jsx: the Mabang raw export's detected headers
# and the template fields it recommends (货运单号, 国家二字码, 物流渠道, 邮政编码, 付款时间),
# with 平台 (chenzebin600-sudo/commerce-ops's Mabang source data contract);
# the seller's export template decides the rest
_add(
    _fixture(
        "mabang-orders",
        [
            "订单编号", "店铺名", "平台", "SKU", "订单商品名称", "平台SKU数量", "付款时间",
            "发货时间", "国家", "国家二字码", "所属地区（省/州）", "所属城市", "邮政编码",
            "物流渠道", "货运单号",
        ],
        [
            {
                "订单编号": "5001234567890123", "店铺名": "demo-shop-pl", "平台": "Allegro",
                "SKU": "LAMP-2",
                "订单商品名称": "Desk lamp", "平台SKU数量": "1", "付款时间": "2026-10-14 09:12:44",
                "发货时间": "2026-10-16 10:00:00", "国家": "Poland", "国家二字码": "PL",
                "所属城市": "Warszawa", "邮政编码": "00-001", "物流渠道": "燕文专线追踪小包",
                "货运单号": "UG123456785YP",
            },
            {
                "订单编号": "5001234567890123", "店铺名": "demo-shop-pl", "SKU": "BULB-1",
                "订单商品名称": "Bulb", "平台SKU数量": "2", "付款时间": "2026-10-14 09:12:44",
                "发货时间": "2026-10-16 10:00:00", "国家": "Poland", "国家二字码": "PL",
                "所属城市": "Warszawa", "物流渠道": "燕文专线追踪小包",
                "货运单号": "UG123456785YP",
            },
        ],
        {
            "order_id": "5001234567890123", "order_date": "2026-10-14 09:12:44",
            "ship_date": "2026-10-16 10:00:00", "tracking_number": "UG123456785YP",
            "carrier": "燕文专线追踪小包", "destination_country": "PL",
            "destination_city": "Warszawa", "destination_postal_code": "00-001",
            "tenant": "demo-shop-pl", "marketplace": "Allegro",
        },
    )
)

# fmt: on
