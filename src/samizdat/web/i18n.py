"""The site's two languages: 中文 (default for Chinese readers) and English.

The language is the ``lang`` query parameter, else the ``lang`` cookie set by the switch, else
the best match in ``Accept-Language``, else Chinese (most readers).
"""

from __future__ import annotations

from datetime import datetime

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (中文, English)
    "site.name": ("samizdat 删除存档", "samizdat deletion archive"),
    "site.tagline": ("被删除的文章，在这里留存", "Articles that were deleted, kept here"),
    "nav.home": ("最近删除", "Recently removed"),
    "nav.search": ("搜索", "Search"),
    "nav.stats": ("统计", "Statistics"),
    "nav.api": ("API", "API"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "lang.switch": ("English", "中文"),
    "search.placeholder": ("搜索标题、公众号、作者、正文", "Search titles, accounts, authors, text"),
    "search.button": ("搜索", "Search"),
    "search.results": ("找到 {n} 篇文章", "{n} articles found"),
    "search.about": ("约 {n} 篇文章，最新的在前", "About {n} articles found, newest first"),
    "search.none": ("没有找到包含「{q}」的文章。", "No article contains “{q}”."),
    "filter.outcome": ("删除原因", "Reason"),
    "filter.any": ("全部", "Any"),
    "filter.account": ("公众号", "Account"),
    "filter.since": ("起始日期", "From"),
    "filter.until": ("截止日期", "To"),
    "filter.all_articles": ("包括未删除的文章", "Include articles still online"),
    "filter.apply": ("筛选", "Filter"),
    "list.empty": ("还没有文章。", "No articles yet."),
    "list.no_removals": ("还没有检测到删除。", "No removal detected yet."),
    "list.next": ("下一页", "Next page"),
    "list.newer": ("较新", "Newer"),
    "list.older": ("较早", "Older"),
    "nav.accounts": ("公众号", "Accounts"),
    "accounts.title": ("全部公众号", "All accounts"),
    "accounts.row": ("{total} 篇，{removed} 篇被删除", "{total} articles, {removed} removed"),
    "raw.title": ("原始缓存：{title}", "Unprocessed cache: {title}"),
    "raw.note": (
        "这是抓取时的原始页面，不作任何处理。为安全起见，它在一个隔离的框架中显示："
        "页面中的脚本不会运行，也不会从别处加载任何内容。",
        "The page exactly as captured. For safety it is shown in an isolated frame: "
        "its scripts do not run and nothing is loaded from elsewhere.",
    ),
    "raw.back": ("返回文章", "Back to the article"),
    "search.loading": ("正在载入搜索索引……", "Loading the search index…"),
    "search.needs_server": (
        "搜索需要通过网址打开本镜像（例如 samizdat mirror serve），直接打开文件时无法使用。",
        "Search needs the mirror opened over HTTP (for example samizdat mirror serve), not as local files.",
    ),
    "feed.subscribe": ("订阅（Atom）", "Subscribe (Atom)"),
    "banner.removed": (
        "该内容已被删除，本站存档恢复",
        "This content was removed and is recovered from the archive",
    ),
    "banner.suspect": (
        "最近一次检查发现该文章可能已被删除，正在确认",
        "The last check found this article gone; confirming",
    ),
    "banner.live": ("该文章目前仍可访问", "This article is still online"),
    "banner.detected": ("检测到删除：{date}", "Detected removed: {date}"),
    "banner.last_seen": ("最后一次见到：{date}", "Last seen online: {date}"),
    "banner.captured": ("存档时间：{date}", "Captured: {date}"),
    "banner.original": ("查看原文", "View original"),
    "banner.before_capture": ("存档前已被删除。", "Removed before it could be captured."),
    "list.uncaptured": ("存档前已被删除", "removed before it could be captured"),
    "banner.reached_listing": (
        "{date} 在订阅源中首次看到它时，它已显示删除通知；下面是订阅源对它的描述。",
        "When first seen in a source's listing on {date} it already showed a removal notice; below "
        "is what the listing said of it.",
    ),
    "banner.reached_link": (
        "{date} 经由另一篇已存档文章中的链接首次访问它时，它已显示删除通知；标题取自链接它的文章。",
        "When first reached by a link in another archived article on {date} it already showed a "
        "removal notice; its title is what the linking article called it.",
    ),
    "banner.reached_request": (
        "{date} 有人提交它以供存档时，它已显示删除通知。",
        "When submitted for capture on {date} it already showed a removal notice.",
    ),
    "banner.imported": ("来自导入的删除数据集，没有存档内容", "From an imported removal dataset: no capture"),
    "banner.raw": ("查看未经处理的缓存", "View the unprocessed cache"),
    "banner.versions": ("版本历史（{n}）", "Version history ({n})"),
    "banner.evidence": ("删除通知页面", "The removal notice page"),
    "article.published": ("发布于 {date}", "Published {date}"),
    "article.by": ("作者：{name}", "By {name}"),
    "article.related": ("相关文章", "Related posts"),
    "pictures.heading": ("图片", "Images"),
    "pictures.elsewhere": (
        "此图片也出现在另外 {n} 篇文章中（其中 {removed} 篇已删除）",
        "This image also appears in {n} other articles ({removed} of them removed)",
    ),
    "pictures.text": ("图片中的文字", "Text in the image"),
    "search.in_image": ("在图片中", "in an image"),
    "links.heading": ("链接", "Links"),
    "links.out": ("本文链接的文章（{n}）", "Links to ({n})"),
    "links.in": ("链接本文的文章（{n}）", "Linked from ({n})"),
    "links.unarchived": ("未存档", "not archived"),
    "evidence.heading": ("核验这份存档", "Verify this copy"),
    "evidence.intro": (
        "每次存档与每次检查都写入一份只增不改的日志，日志的树头由本存档的密钥签名。"
        "下列记录可用 /api/log/verifier.py 这个独立脚本核验。",
        "Each capture and check is written to an append-only log whose tree heads are signed with "
        "this archive's key. Anyone can check the entries below with the standalone script "
        "/api/log/verifier.py.",
    ),
    "evidence.entry": ("日志第 {seq} 条：{kind}", "log entry {seq}: {kind}"),
    "evidence.proof": ("证明", "proof"),
    "evidence.digest": ("页面记录摘要", "page record digest"),
    "evidence.key": ("存档公钥", "the archive's public key"),
    "evidence.wacz": ("下载 WACZ 包", "download the WACZ package"),
    "evidence.pending": (
        "尚未封存进日志（几秒后再看）",
        "not yet sealed into the log (look again in a few seconds)",
    ),
    "verify.pending": ("正在浏览器中核验…", "Checking in your browser…"),
    "verify.noscript": (
        "启用脚本后，本页会在浏览器中自行核验；也可用 verify_evidence.py 离线核验。",
        "With scripts on, this page checks itself in your browser; "
        "or check it offline with verify_evidence.py.",
    ),
    "verify.verified": (
        "已核验：本文存于存档签名的日志中，经 {n} 个见证方共同签署（截至 {time}）",
        "Verified: this article is in the archive's signed log, cosigned by {n} witnesses as of {time}",
    ),
    "verify.unwitnessed": (
        "存档签名成立，但见证方不足：{n} 个共同签署，需要 {quorum} 个",
        "The archive's signature holds, but {n} witnesses cosigned where {quorum} are needed",
    ),
    "verify.no_witnesses": (
        "已核验存档签名；本存档未设见证方，日志未经独立方确认",
        "The archive's signature holds; this archive names no witnesses, "
        "so no one else has confirmed its log",
    ),
    "verify.failed": (
        "核验失败：本页与存档的日志不符",
        "Verification failed: this page does not match the archive's log",
    ),
    "verify.text_ok": ("正文与日志第 {seq} 条记录的摘要一致", "the text is the one log entry {seq} recorded"),
    "verify.text_bad": ("正文与日志记录的摘要不符", "the text differs from the one the log recorded"),
    "verify.text_missing": (
        "日志中没有这个版本的采集记录",
        "no capture of this version is among the entries",
    ),
    "verify.title_bad": ("页面标题与日志记录的不符", "the title shown differs from the one the log recorded"),
    "verify.entry_ok": (
        "日志第 {seq} 条在 {size} 条的签名树中",
        "log entry {seq} is in the signed tree of {size} entries",
    ),
    "verify.entry_bad": (
        "日志第 {seq} 条的包含证明不成立",
        "the inclusion proof of log entry {seq} does not hold",
    ),
    "verify.head_ok": ("检查点由存档密钥 {key} 签署", "the checkpoint is signed by the archive's key {key}"),
    "verify.head_bad": ("检查点的存档签名不成立", "the checkpoint's archive signature does not hold"),
    "verify.witness_ok": ("见证方 {name} 于 {time} 共同签署", "cosigned by witness {name} at {time}"),
    "verify.witness_missing": (
        "见证方 {name} 未共同签署此检查点",
        "witness {name} has not cosigned this checkpoint",
    ),
    "verify.witness_bad": ("见证方 {name} 的共同签名不成立", "witness {name}'s cosignature does not hold"),
    "verify.unsupported": (
        "此浏览器无法在这里核验签名；请用 verify_evidence.py 核验。",
        "This browser cannot check signatures here; check with verify_evidence.py.",
    ),
    "copies.heading": ("同文转载（{n}）", "Copies of this text ({n})"),
    "copies.online": ("仍可阅读（{date} 确认）", "still online (seen {date})"),
    "copies.removed": ("也已于 {date} 被删除", "also removed on {date}"),
    "article.image_missing": ("（图片未存档）", "(image not archived)"),
    "account.title": ("公众号：{name}", "Account: {name}"),
    "account.summary": (
        "存档 {total} 篇文章，其中 {removed} 篇被删除（{rate}）",
        "{total} articles archived, {removed} removed ({rate})",
    ),
    "state.live": ("在线", "online"),
    "state.suspect": ("待确认", "awaiting confirmation"),
    "state.removed": ("已删除", "removed"),
    "account.watched": ("关注自 {date}", "Watched since {date}"),
    "account.ids": ("biz：{biz} · 微信号：{user}", "biz: {biz} · user name: {user}"),
    "account.states": ("按状态：{states}", "By state: {states}"),
    "account.sources": ("来源（合集）", "Sources (albums)"),
    "account.no_sources": (
        "尚无来源：其文章中出现的合集会自动加入。",
        "No sources yet: albums its articles name are added as they are found.",
    ),
    "account.albums_off": ("不自动关注合集", "Albums are not followed"),
    "account.polled": ("上次读取 {date}", "last read {date}"),
    "account.never_polled": ("尚未读取", "not read yet"),
    "account.by_month": ("按月：存档与删除", "By month: archived and removed"),
    "account.month_row": (
        "{month}：存档 {total} 篇，删除 {removed} 篇（{rate}）",
        "{month}: {total} archived, {removed} removed ({rate})",
    ),
    "account.rate_chart": (
        "每月存档文章的删除比例（%）",
        "Share of each month's archived articles removed (%)",
    ),
    "versions.title": ("版本历史", "Version history"),
    "versions.changes": ("与上一版本相比的改动", "Changes from the previous version"),
    "versions.first": ("首次存档", "First capture"),
    "versions.raw": ("原始页面", "Raw page"),
    "stats.title": ("统计", "Statistics"),
    "stats.by_day": ("每日删除数（按原因）", "Removals per day, by reason"),
    "stats.age": ("从发布到删除的时间", "Time from publication to removal"),
    "stats.top_accounts": ("删除最多的公众号", "Accounts with most removals"),
    "stats.top_keywords": ("被删除文章中的关注词", "Watched keywords in removed articles"),
    "stats.totals": (
        "共存档 {articles} 篇，已删除 {removed} 篇",
        "{articles} articles archived, {removed} removed",
    ),
    "stats.hours": ("小时", "hours"),
    "stats.by.outcome": ("按删除原因", "By reason of removal"),
    "stats.by.account": ("按公众号", "By account"),
    "stats.by.keyword": ("按关注词", "By watched keyword"),
    "stats.by.month": ("按发布月份", "By month of publication"),
    "stats.by.capture": ("按是否存档", "By capture"),
    "stats.col.capture": ("存档", "Capture"),
    "capture.captured": ("已存档", "captured"),
    "capture.before_capture": ("存档前已删除", "removed before capture"),
    "capture.imported": ("导入的删除记录", "imported removal"),
    "stats.col.outcome": ("原因", "Reason"),
    "stats.col.account": ("公众号", "Account"),
    "stats.col.keyword": ("关注词", "Keyword"),
    "stats.col.month": ("月份", "Month"),
    "stats.col.articles": ("文章", "Articles"),
    "stats.col.removed": ("已删除", "Removed"),
    "stats.col.rate": ("删除率", "Removal rate"),
    "stats.col.share": ("占删除", "Share of removals"),
    "stats.col.median": ("删除用时中位数（小时）", "Median hours to removal"),
    "stats.col.quartiles": ("四分位（小时）", "Quartiles (hours)"),
    "stats.outcome_hours": ("各删除原因的删除用时中位数（小时）", "Median hours to removal, by reason"),
    "stats.monthly_rate": ("每月删除率", "Removal rate by month of publication"),
    "stats.csv": ("下载 CSV", "Download CSV"),
    "stats.median_all": (
        "从发布到删除的中位时间：{hours} 小时",
        "median time from publication to removal: {hours} hours",
    ),
    "stats.none": ("暂无数据。", "No data yet."),
    "images.title": ("被删除文章中的图片", "Images in removed articles"),
    "images.link": ("图片统计", "Images in removed articles"),
    "images.read": (
        "已存档图片 {images} 张，已读取 {read} 张，其中内容图片 {content} 张"
        "（{with_text} 张含文字；图标、二维码等不计）。",
        "{images} archived images, {read} read: {content} content images ({with_text} with text; "
        "icons, QR codes and decorations left out).",
    ),
    "images.seen_before": (
        "{removed} 篇被删除文章中，{with_pictures} 篇带有图片；{seen} 篇（占全部删除的 {share}）"
        "带有在更早的删除中出现过的图片。",
        "Of {removed} removed articles, {with_pictures} carry pictures; {seen} ({share} of all "
        "removals) carry a picture seen in an earlier removal.",
    ),
    "images.pictures": ("出现在最多被删除文章中的图片", "Pictures in the most removed articles"),
    "images.months": (
        "每月删除中带有更早删除过的图片的比例（%）",
        "Share of each month's removals carrying a picture seen in an earlier removal (%)",
    ),
    "images.terms": (
        "被删除文章的图片文字中出现过多的词（加权对数几率 z 值）",
        "Words over-represented in the image text of removed articles (weighted log-odds z-score)",
    ),
    "images.col.picture": ("图片", "Picture"),
    "images.col.copies": ("副本", "Copies"),
    "images.col.removed": ("被删除文章", "Removed articles"),
    "images.col.articles": ("文章", "Articles"),
    "images.col.text": ("图中文字", "Text in it"),
    "images.col.word": ("词", "Word"),
    "images.col.live": ("未删除文章", "Live articles"),
    "images.col.z": ("z 值", "z"),
    "images.col.month": ("删除月份", "Month of removal"),
    "images.col.with_pictures": ("带图片", "With pictures"),
    "images.col.seen_before": ("图片曾被删除", "Picture removed before"),
    "error.not_found": ("找不到这个页面。", "This page does not exist."),
    "footer.about": (
        "samizdat 在文章发布时存档，定期复查，并在文章消失时记录原因。",
        "samizdat captures articles when they appear, re-checks them, and records why they vanish.",
    ),
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "deleted_by_author": ("被发布者删除", "deleted by its publisher"),
    "removed_violation": ("因违规被平台删除", "removed by the platform for a violation"),
    "removed_complaint": ("因投诉被删除", "removed after a complaint"),
    "account_gone": ("公众号被封或迁移", "account blocked or gone"),
    "not_found": ("页面不存在（404/410）", "not found (404/410)"),
    "legal_block": ("因法律原因不可用（451）", "unavailable for legal reasons (451)"),
    "redirected_away": ("被重定向到其他页面", "redirected away"),
    "unknown_unavailable": ("无法访问，原因不明", "unavailable, reason unknown"),
    "link_expired": ("链接已过期", "link expired"),
    "alive": ("仍可访问", "online"),
    "edited": ("已修改", "edited"),
}

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def choose(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    """
    >>> choose(None, None, "en-GB,en;q=0.9,zh;q=0.5"), choose(None, "en", "zh"), choose("zh", "en", None)
    ('en', 'en', 'zh')
    """
    for explicit in (query_lang, cookie_lang):
        if explicit in LANGUAGES:
            return explicit
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            ranked.append((weight, primary))
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else DEFAULT


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.index = LANGUAGES.index(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[key][self.index]
        return text.format(**values) if values else text

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Every message under ``prefix`` in this language, for a script to fill in."""
        return {key: texts[self.index] for key, texts in MESSAGES.items() if key.startswith(prefix)}

    def state(self, name: str) -> str:
        return MESSAGES.get(f"state.{name}", (name, name))[self.index]

    def outcome(self, name: str | None) -> str:
        return OUTCOMES.get(name or "unknown_unavailable", OUTCOMES["unknown_unavailable"])[self.index]

    def date(self, moment: datetime | None, *, with_time: bool = False) -> str:
        """A date as the reader writes it; in the moment's own offset (UTC for detection times)."""
        if moment is None:
            return "—"
        if self.lang == "zh":
            text = f"{moment.year}年{moment.month}月{moment.day}日"
            clock = f" {moment:%H:%M}"
        else:
            text = f"{moment.day} {MONTHS_EN[moment.month - 1]} {moment.year}"
            clock = f", {moment:%H:%M}"
        if with_time:
            offset = moment.utcoffset()
            zone = "UTC" if not offset else f"UTC{moment:%z}"[:-2]
            text += f"{clock} {zone}"
        return text
