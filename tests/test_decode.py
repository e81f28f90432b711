"""Decoding pages: header, BOM, meta, and the bytes themselves when declarations lie."""

import codecs

import pytest

from samizdat.fetch.decode import decode_html

ARTICLE = "<html><head>{meta}</head><body><p>中文正文：删除、审查与存档。</p></body></html>"


def test_http_header_charset_is_used():
    body = ARTICLE.format(meta="").encode("gb18030")
    decoded = decode_html(body, "text/html; charset=GBK")
    assert "中文正文" in decoded.text
    assert decoded.evidence == "http-header"


def test_meta_charset_is_used_without_a_header():
    body = ARTICLE.format(meta='<meta http-equiv="Content-Type" content="text/html; charset=gb2312">').encode(
        "gbk"
    )
    decoded = decode_html(body)
    assert "中文正文" in decoded.text
    assert (decoded.encoding, decoded.evidence) == ("gb18030", "meta")


@pytest.mark.parametrize("bom,encoding", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")])
def test_byte_order_mark_wins_over_a_wrong_declaration(bom, encoding):
    body = bom + ARTICLE.format(meta='<meta charset="gbk">').encode(encoding)
    decoded = decode_html(body, "text/html; charset=iso-8859-1")
    assert "中文正文" in decoded.text
    assert not decoded.text.startswith("\ufeff")
    assert decoded.evidence == "bom"


def test_gbk_without_any_declaration_is_detected():
    decoded = decode_html(ARTICLE.format(meta="").encode("gbk"))
    assert "中文正文：删除、审查与存档" in decoded.text


def test_header_declaring_utf8_over_gbk_bytes_is_overruled():
    decoded = decode_html(ARTICLE.format(meta="").encode("gbk"), "text/html; charset=utf-8")
    assert "中文正文" in decoded.text


def test_latin1_declared_over_utf8_bytes_is_overruled():
    decoded = decode_html(ARTICLE.format(meta="").encode("utf-8"), "text/html; charset=iso-8859-1")
    assert "中文正文" in decoded.text


def test_gbk_page_with_a_broken_byte_still_decodes_as_gbk():
    # cwced page 6dc2d508 is like this: GBK with a stray byte, no declaration
    body = ARTICLE.format(meta="").encode("gbk") * 20
    body = body[:500] + b"\x81" + body[500:]
    decoded = decode_html(body)
    assert decoded.encoding == "gb18030"
    assert decoded.text.count("中文正文") >= 19


def test_unknown_charset_label_falls_back_to_the_bytes():
    decoded = decode_html(ARTICLE.format(meta='<meta charset="x-no-such">').encode("utf-8"))
    assert "中文正文" in decoded.text


def test_never_raises_on_arbitrary_bytes():
    decoded = decode_html(bytes(range(256)) * 10)
    assert isinstance(decoded.text, str)
