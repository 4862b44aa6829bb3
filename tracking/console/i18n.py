"""Every text of the console in English and Chinese (Simplified), and the language choice.

`CATALOGUE` maps a key to its (English, Chinese) pair; a template calls `t("key", name=...)`
and gets the text of the page's language with `{name}` filled in. A test checks that every
key used by a template or a route is here, with both languages.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["CATALOGUE", "LANGUAGES", "Translator", "choose_language"]

LANGUAGES: Final = ("en", "zh")

CATALOGUE: dict[str, tuple[str, str]] = {
    # frame
    "app.name": ("Tracking evidence", "物流证据"),
    "app.footer": (
        "Evidence from the carriers' own answers, for marketplace appeals.",
        "依据承运商原始返回数据，用于平台申诉。",
    ),
    "nav.label": ("Main", "主导航"),
    "nav.skip": ("Skip to the content", "跳到正文"),
    "nav.upload": ("Upload", "上传订单"),
    "nav.pull": ("Pull", "拉取物流"),
    "nav.orders": ("Orders", "订单"),
    "nav.bundle": ("Bundle", "证据包"),
    "nav.settings": ("Settings", "设置"),
    "nav.store": ("Store", "店铺"),
    "nav.sign_out": ("Sign out", "退出登录"),
    "error.title": ("Something is not right", "出现问题"),
    "error.home": ("Back to the start", "返回首页"),
    "error.csrf": (
        "This form has expired or did not come from this page. Reload the page and try again.",
        "表单已过期或并非来自本页面。请刷新页面后重试。",
    ),
    # sign in
    "signin.title": ("Sign in", "登录"),
    "signin.intro": (
        "Sign in with your store's API key. You see only your own store's orders.",
        "请使用店铺的 API 密钥登录。您只能看到自己店铺的订单。",
    ),
    "signin.key": ("API key", "API 密钥"),
    "signin.submit": ("Sign in", "登录"),
    "signin.bad_key": (
        "This API key is not valid or was revoked.",
        "该 API 密钥无效或已被撤销。",
    ),
    "signin.bad_link": (
        "This sign-in link was already used or has expired. Run `track-evidence console` again "
        "for a new one, or sign in with an API key.",
        "该登录链接已使用或已过期。请重新运行 `track-evidence console` 获取新链接，"
        "或使用 API 密钥登录。",
    ),
    "signin.link_hint": (
        "On your own computer, `track-evidence console` opens this page already signed in.",
        "在本机运行 `track-evidence console` 会直接打开已登录的页面。",
    ),
    # upload
    "upload.title": ("Upload an orders file", "上传订单文件"),
    "upload.intro": (
        "Export your orders from the marketplace or your ERP (CSV or Excel) and drop the file "
        "here. Nothing is stored until you confirm the import.",
        "从平台或 ERP 导出订单（CSV 或 Excel），拖放到这里。确认导入之前不会保存任何数据。",
    ),
    "upload.drop": (
        "Drop the file here, or choose it",
        "将文件拖放到此处，或点击选择文件",
    ),
    "upload.timezone": (
        "Time zone of times without one (optional, e.g. Asia/Shanghai)",
        "无时区时间所用的时区（可选，例如 Asia/Shanghai）",
    ),
    "upload.submit": ("Read the file", "读取文件"),
    "upload.limits": ("Up to {size} MB.", "最大 {size} MB。"),
    "upload.empty": ("The file is empty.", "文件为空。"),
    "upload.not_found": (
        "This upload does not exist (uploads are kept for a day).",
        "该上传不存在（上传的文件保留一天）。",
    ),
    # preview and mapping
    "preview.title": ("Your file as read", "文件读取结果"),
    "preview.profile": ("Export recognized", "识别出的导出格式"),
    "preview.no_profile": ("none: columns matched by name", "无：按列名匹配"),
    "preview.read_as": ("Read from", "读取位置"),
    "preview.timezone": ("Times without a zone", "无时区的时间按"),
    "preview.grouping": ("Rows and orders", "行数与订单数"),
    "preview.grouped": (
        "{rows} rows → {orders} orders ({items} further item rows of orders already read)",
        "{rows} 行 → {orders} 个订单（其中 {items} 行为同一订单的其他商品行）",
    ),
    "preview.rejected_count": ("Rows that cannot be used", "无法使用的行"),
    "preview.mapped": ("Columns you chose", "您选择的列"),
    "preview.columns": ("Columns used", "使用的列"),
    "preview.field": ("Field", "字段"),
    "preview.header": ("Column in your file", "文件中的列"),
    "preview.first_rows": ("First rows", "前几行"),
    "preview.row": ("Row", "行号"),
    "preview.kind": ("Kind", "类型"),
    "preview.order": ("order", "订单"),
    "preview.parcel": ("another parcel", "另一包裹"),
    "preview.rejected": ("Rows that cannot be used", "无法使用的行"),
    "preview.column": ("Column", "列"),
    "preview.value": ("Value", "值"),
    "preview.reason": ("Why", "原因"),
    "preview.rejected_more": (
        "The first {shown} of {total} are listed.",
        "仅列出 {total} 行中的前 {shown} 行。",
    ),
    "preview.import": ("Import {orders} orders", "导入 {orders} 个订单"),
    "preview.imported": ("Imported", "已导入"),
    "preview.imported_counts": (
        "{accepted} rows stored, {rejected} rejected ({orders} orders).",
        "已保存 {accepted} 行，拒绝 {rejected} 行（共 {orders} 个订单）。",
    ),
    "preview.pull_now": ("Pull their tracking now", "立即拉取物流信息"),
    "preview.see_orders": ("See the orders", "查看订单"),
    "preview.mapping": ("Some columns were not recognized", "部分必需的列未能识别"),
    "preview.mapping_intro": (
        "Choose the column of your file that holds each field below.",
        "请为下列每个字段选择文件中对应的列。",
    ),
    "preview.choose_column": ("— choose a column —", "— 请选择列 —"),
    "preview.mapping_submit": ("Use these columns", "使用这些列"),
    "preview.reader_says": ("What the reader found", "读取器的详细说明"),
    "preview.again": ("Upload another file", "上传其他文件"),
    # fields of an order
    "field.tenant": ("Store", "店铺"),
    "field.order_id": ("Order ID", "订单号"),
    "field.marketplace": ("Marketplace", "平台"),
    "field.order_date": ("Order date", "下单时间"),
    "field.ship_date": ("Ship date", "发货时间"),
    "field.tracking_number": ("Tracking number", "运单号"),
    "field.carrier": ("Carrier", "承运商"),
    "field.destination_country": ("Destination country", "目的国"),
    "field.destination_postal_code": ("Destination postal code", "目的地邮编"),
    "field.destination_city": ("Destination city", "目的地城市"),
    "field.order_value": ("Order value", "订单金额"),
    "field.currency": ("Currency", "币种"),
    # pulls
    "pull.title": ("Pull tracking", "拉取物流信息"),
    "pull.intro": (
        "Ask the carriers for every stored order of the window, then judge each one.",
        "向承运商查询时间范围内所有已保存的订单，并逐一判定。",
    ),
    "pull.sandbox": (
        "Sandbox mode: the carriers are simulated (the demo world); nothing real is asked.",
        "沙盒模式：承运商为模拟数据（演示环境），不会发出真实请求。",
    ),
    "pull.carriers": ("Carriers", "承运商"),
    "pull.window": ("Orders dated in the last", "订单日期范围：最近"),
    "pull.start": ("Start the pull", "开始拉取"),
    "pull.done": ("Done", "已完成"),
    "pull.rate": ("Rate", "速度"),
    "pull.left": ("Time left", "剩余时间"),
    "pull.per_second": ("{n} numbers/s", "每秒 {n} 个单号"),
    "pull.seconds": ("about {n} s", "约 {n} 秒"),
    "pull.finished": ("finished", "已完成"),
    "pull.waiting": ("Waiting for its turn…", "排队等待中……"),
    "pull.summary": (
        "{orders} orders in the window: {fetched} fetched, {not_found} not found at the "
        "carrier, {failed} could not be fetched.",
        "时间范围内共 {orders} 个订单：成功获取 {fetched} 个，承运商查无 {not_found} 个，"
        "{failed} 个无法获取。",
    ),
    "pull.verdicts": (
        "Verdicts: {passed} pass, {failed} fail, {pending} pending.",
        "判定结果：通过 {passed} 个，不通过 {failed} 个，待定 {pending} 个。",
    ),
    "pull.blocked": (
        "{carrier} could not be reached: {notice}",
        "无法访问 {carrier}：{notice}",
    ),
    "pull.no_credentials": (
        "{carrier}: {n} numbers were not fetched because this server has no credentials for "
        "it (missing: {fields}). Ask the operator to set them, then pull again.",
        "{carrier}：有 {n} 个单号未能获取，因为服务器未配置该承运商的凭据（缺少：{fields}）。"
        "请联系管理员配置后重新拉取。",
    ),
    "pull.failed_some": (
        "{carrier}: {n} numbers could not be fetched this time (the carrier refused or did not "
        "answer, e.g. a quota or a timeout). They are tried again at the next pull.",
        "{carrier}：本次有 {n} 个单号未能获取（承运商拒绝或未响应，例如额度用尽或超时）。"
        "下次拉取时会重试。",
    ),
    "pull.see_failing": ("See the failing orders", "查看未通过的订单"),
    "pull.see_orders": ("All orders", "全部订单"),
    # jobs
    "job.title_pull": ("Pull", "拉取"),
    "job.title_bundle": ("Evidence bundle", "证据包"),
    "job.status.queued": ("waiting", "排队中"),
    "job.status.running": ("running", "进行中"),
    "job.status.succeeded": ("done", "已完成"),
    "job.status.failed": ("failed", "失败"),
    "job.started": ("started", "开始于"),
    "job.failed": ("It stopped:", "已中止："),
    "job.not_found": ("There is no such job for this store.", "本店铺没有该任务。"),
    "job.quota": (
        "This store already has as many pulls and bundles running as allowed; wait for one "
        "to finish.",
        "本店铺同时进行的拉取和打包任务已达上限，请等待其中一个完成。",
    ),
    # orders
    "orders.title": ("Orders", "订单"),
    "orders.counts": ("Orders by verdict", "按判定结果统计"),
    "orders.all": ("all", "全部"),
    "orders.search": ("Order ID or tracking number", "订单号或运单号"),
    "orders.search_hint": ("starts with…", "开头为……"),
    "orders.any": ("any", "全部"),
    "orders.window": ("Order date", "下单时间"),
    "orders.days": ("last {n} days", "最近 {n} 天"),
    "orders.apply": ("Show", "筛选"),
    "orders.clear": ("Clear", "清除"),
    "orders.empty": ("No orders match.", "没有符合条件的订单。"),
    "orders.pages": ("Pages", "分页"),
    "orders.first_page": ("« First page", "« 第一页"),
    "orders.next_page": ("Next page »", "下一页 »"),
    "col.order": ("Order", "订单号"),
    "col.date": ("Date", "日期"),
    "col.tracking": ("Tracking number", "运单号"),
    "col.carrier": ("Carrier", "承运商"),
    "col.destination": ("Destination", "目的国"),
    "col.verdict": ("Verdict", "判定"),
    "col.milestones": ("Milestones", "物流节点"),
    "col.finding": ("Finding", "问题"),
    "verdict.pass": ("pass", "通过"),
    "verdict.fail": ("fail", "不通过"),
    "verdict.pending": ("pending", "待定"),
    "verdict.none": ("not checked yet", "尚未检查"),
    "milestone.departed_origin": ("Departed the origin country", "离开始发国"),
    "milestone.arrived_destination": ("Arrived in the destination country", "到达目的国"),
    "milestone.delivered": ("Delivered", "妥投"),
    "mstatus.explicit": ("shown by the carrier", "承运商明确记录"),
    "mstatus.inferred": ("inferred", "推断"),
    "mstatus.missing": ("missing", "缺失"),
    "mstatus.short.explicit": ("✔", "✔"),
    "mstatus.short.inferred": ("≈", "≈"),
    "mstatus.short.missing": ("✘", "✘"),
    "severity.error": ("error", "错误"),
    "severity.warning": ("warning", "警告"),
    "severity.info": ("note", "提示"),
    "role.origin": ("origin carrier", "头程承运商"),
    "role.last_mile": ("last-mile carrier", "尾程承运商"),
    # stages of events
    "stage.info_received": ("information received", "已收到信息"),
    "stage.picked_up": ("picked up", "已揽收"),
    "stage.origin_facility": ("at an origin facility", "始发地处理中心"),
    "stage.export_customs": ("export customs", "出口清关"),
    "stage.departed_origin": ("departed the origin country", "离开始发国"),
    "stage.in_transit": ("in transit", "运输途中"),
    "stage.arrived_destination": ("arrived in the destination country", "到达目的国"),
    "stage.import_customs": ("import customs", "进口清关"),
    "stage.destination_facility": ("at a destination facility", "目的地处理中心"),
    "stage.out_for_delivery": ("out for delivery", "派送中"),
    "stage.available_for_pickup": ("ready for pickup", "待自提"),
    "stage.delivery_failed": ("delivery failed", "投递失败"),
    "stage.delivered": ("delivered", "已妥投"),
    "stage.returning": ("returning", "退回途中"),
    "stage.returned": ("returned", "已退回"),
    "stage.exception": ("exception", "异常"),
    "stage.unknown": ("not recognized", "未识别"),
    # one order
    "order.title": ("Order", "订单"),
    "order.back": ("All orders", "全部订单"),
    "order.not_found": ("This store has no such order.", "本店铺没有该订单。"),
    "order.marketplace": ("Marketplace", "平台"),
    "order.policy": ("Judged under", "判定规则"),
    "order.not_judged": (
        "This order has not been checked yet: pull its tracking first.",
        "该订单尚未检查，请先拉取物流信息。",
    ),
    "order.todo": ("What to do", "处理建议"),
    "order.findings": ("Findings", "发现的问题"),
    "order.advice": ("What to do:", "建议："),
    "order.parcel": ("Parcel {i} of {n}", "第 {i} 个包裹（共 {n} 个）"),
    "order.milestones": ("Milestones", "物流节点"),
    "order.milestone": ("Milestone", "节点"),
    "order.proof": ("Proof", "证明方式"),
    "order.legs": ("Chain of custody", "承运链"),
    "order.final": ("final", "已完结"),
    "order.public_page": ("public tracking page", "公开查询页面"),
    "order.no_legs": ("No carrier leg yet.", "暂无承运段。"),
    "order.timeline": ("Timeline (the carrier's own words)", "物流轨迹（承运商原文）"),
    "order.no_events": ("No carrier events yet.", "暂无物流事件。"),
    "order.raw": ("Raw carrier responses", "承运商原始返回"),
    "order.no_exchanges": ("No carrier response stored yet.", "暂无已保存的承运商返回。"),
    "order.image": ("Delivery status image", "妥投状态图片"),
    "order.image_hint": (
        "The image the bundle holds for this order; it is a rendering of the carrier's answer, "
        "labelled as such.",
        "证据包中该订单的图片；它是对承运商返回数据的渲染，并已注明。",
    ),
    "order.image_alt": ("Delivery status of order {order}", "订单 {order} 的妥投状态"),
    "order.image_preview": ("(preview)", "（预览）"),
    "order.no_image": (
        "There is no image before the order is checked.",
        "订单检查之前没有图片。",
    ),
    "ev.local": ("Local time", "当地时间"),
    "ev.utc": ("UTC", "UTC 时间"),
    "ev.no_local": ("zone not stated", "未注明时区"),
    "ev.place": ("Place", "地点"),
    "ev.stage": ("Stage", "阶段"),
    "ev.text": ("Carrier's text", "承运商原文"),
    "ev.source": ("Source", "来源"),
    # raw responses
    "raw.title": ("Raw carrier response", "承运商原始返回"),
    "raw.type": ("Content type", "内容类型"),
    "raw.size": ("Size", "大小"),
    "raw.fetched": ("Fetched", "获取时间"),
    "raw.request": ("Request", "请求"),
    "raw.view": ("view", "查看"),
    "raw.download_short": ("download", "下载"),
    "raw.download": ("Download exactly as received", "按原样下载"),
    "raw.hint": (
        "Shown pretty-printed; the download is byte for byte what the carrier sent, and its "
        "sha256 is the digest above.",
        "此处为格式化显示；下载的文件与承运商发送的内容逐字节一致，其 sha256 即上方摘要。",
    ),
    "raw.not_found": (
        "There is no such response among this store's own requests.",
        "本店铺的请求中没有该返回。",
    ),
    # bundles
    "bundle.title": ("Precheck and bundle", "自查与证据包"),
    "bundle.intro": (
        "Check the figures, choose the orders to cite, and build the bundle to upload with "
        "your appeal.",
        "核对统计数据，选择要引用的订单，然后生成随申诉上传的证据包。",
    ),
    "bundle.figures": ("Figures of the last {n} days", "最近 {n} 天的统计"),
    "bundle.orders": ("orders", "订单"),
    "bundle.all_three": ("all three milestones", "三个节点齐全"),
    "bundle.headline": (
        "{complete} of {judged} checked orders have all three milestones.",
        "已检查的 {judged} 个订单中，{complete} 个三个物流节点齐全。",
    ),
    "bundle.reference": ("Evidence Reference ID", "证据参考编号（Evidence Reference ID）"),
    "bundle.reference_hint": (
        "As written in the marketplace's notice.",
        "请按平台通知中的写法填写。",
    ),
    "bundle.seller": ("Seller's registered name", "卖家注册名称"),
    "bundle.seller_hint": (
        "Printed exactly as given on every page.",
        "将按原样印在每一页上。",
    ),
    "bundle.cite": ("Cite orders whose verdict is", "引用判定结果为以下的订单"),
    "bundle.cite_hint": (
        "By default only passing orders are cited; the precheck covers every order.",
        "默认只引用通过的订单；自查报告涵盖全部订单。",
    ),
    "bundle.include": (
        "Also cite these order IDs (one a line)",
        "额外引用这些订单号（每行一个）",
    ),
    "bundle.exclude": ("Never cite these order IDs (one a line)", "不引用这些订单号（每行一个）"),
    "bundle.build": ("Build the bundle", "生成证据包"),
    "bundle.both": (
        "Order {order} is both included and excluded.",
        "订单 {order} 同时出现在引用和排除列表中。",
    ),
    "bundle.progress": ("{done} of {total} orders written", "已写入 {done} / {total} 个订单"),
    "bundle.built": ("{orders} orders, {size} MB.", "共 {orders} 个订单，{size} MB。"),
    "bundle.download": ("Download the bundle (zip)", "下载证据包（zip）"),
    "bundle.verified": (
        "Verified: all {n} files match the manifest.",
        "校验通过：{n} 个文件均与清单一致。",
    ),
    "bundle.not_verified": ("Verification failed: {problem}", "校验失败：{problem}"),
    "bundle.not_ready": ("This bundle is not ready yet.", "该证据包尚未生成完毕。"),
    # settings
    "settings.title": ("Settings", "设置"),
    "settings.state": ("State", "状态"),
    "settings.ready": ("ready", "已就绪"),
    "settings.missing": ("no credentials (missing {fields})", "未配置凭据（缺少 {fields}）"),
    "settings.invalid": ("settings invalid", "配置无效"),
    "settings.sandbox_ready": ("sandbox", "沙盒"),
    "settings.carriers_hint": (
        "Credentials are set by the server's operator; their values are never shown here.",
        "凭据由服务器管理员配置，此处从不显示其内容。",
    ),
    "settings.keys": ("API keys", "API 密钥"),
    "settings.key_name": ("Name", "名称"),
    "settings.key_prefix": ("Starts with", "开头"),
    "settings.created": ("Created", "创建时间"),
    "settings.last_used": ("Last used", "最近使用"),
    "settings.this_key": ("this session", "当前会话"),
    "settings.revoked": ("revoked", "已撤销"),
    "settings.revoke": ("Revoke", "撤销"),
    "settings.no_keys": ("No API key yet.", "暂无 API 密钥。"),
    "settings.create_key": ("Create a key", "创建密钥"),
    "settings.key_once": (
        "Your new key. Copy it now: it is never shown again.",
        "这是您的新密钥。请立即复制：它不会再次显示。",
    ),
    "settings.no_key": ("This store has no such key.", "本店铺没有该密钥。"),
    "settings.webhooks": ("Webhooks", "Webhook 通知"),
    "settings.no_webhooks": ("No webhook yet.", "暂无 Webhook。"),
    "settings.no_webhook": ("This store has no such webhook.", "本店铺没有该 Webhook。"),
    "settings.deliveries": ("Delivery log", "投递记录"),
    "settings.delete": ("Delete", "删除"),
    "settings.events": ("Events", "事件"),
    "settings.description": ("Description", "说明"),
    "settings.add_webhook": ("Add the webhook", "添加 Webhook"),
    "settings.secret_once": (
        "Its signing secret. Copy it now: it is never shown again.",
        "这是它的签名密钥。请立即复制：它不会再次显示。",
    ),
    "settings.event": ("Event", "事件"),
    "settings.attempts": ("Attempts", "尝试次数"),
    "settings.last_error": ("Last error", "最近错误"),
    "settings.next_attempt": ("Next attempt", "下次尝试"),
    "settings.no_deliveries": ("Nothing sent yet.", "尚未发送任何通知。"),
}


def choose_language(accept_language: str) -> str:
    """`zh` or `en` from an `Accept-Language` header (by quality, then order); `en` else."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            candidate = (-quality, position, primary)
            if best is None or candidate < best:
                best = candidate
    return best[2] if best is not None else "en"


class Translator:
    """`t(key, **values)`: the text of `key` in one language, with its `{values}` filled."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self._index = LANGUAGES.index(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        pair = CATALOGUE.get(key)
        if pair is None:
            raise KeyError(f"no console text {key!r}")
        text = pair[self._index]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether `key` has a text (for keys built from data, e.g. a stage name)."""
        return key in CATALOGUE
