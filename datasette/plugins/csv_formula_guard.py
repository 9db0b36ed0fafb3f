"""Neutralise spreadsheet formulas in Datasette's CSV downloads.

A cell that starts with = + - @ (or a tab or carriage return) would be run as a formula
by a spreadsheet that opens the download; prefixed with ' it is shown as the text it
is. The stored data is unchanged; JSON keeps the values exactly.

One hook: an ASGI wrapper that rewrites CSV responses record by record while they
stream. A record ends at a newline outside quotes, which is where the count of quote
characters seen so far is even."""

from __future__ import annotations

import codecs
import csv
import io

from datasette import hookimpl
from registry.rules.spreadsheet import neutralise


class RecordRewriter:
    """Rewrite complete CSV records as bytes arrive; keep the incomplete tail."""

    def __init__(self) -> None:
        self.pending = ""
        self.quotes = 0  # quote characters in `pending`

    def feed(self, text: str) -> str:
        out = []
        start = 0
        for i, char in enumerate(text):
            if char == '"':
                self.quotes += 1
            elif char == "\n" and self.quotes % 2 == 0:
                out.append(self._rewrite(self.pending + text[start : i + 1]))
                self.pending, self.quotes, start = "", 0, i + 1
        self.pending += text[start:]
        return "".join(out)

    def finish(self) -> str:
        rest, self.pending = self.pending, ""
        return self._rewrite(rest) if rest else ""

    @staticmethod
    def _rewrite(record: str) -> str:
        rows = list(csv.reader(io.StringIO(record)))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=record[len(record.rstrip("\r\n")) :] or "\r\n")
        for row in rows:
            writer.writerow([neutralise(cell) for cell in row])
        return buffer.getvalue()


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            if scope["type"] != "http" or not scope.get("path", "").endswith(".csv"):
                await app(scope, receive, send)
                return
            rewriter = RecordRewriter()
            decoder = codecs.getincrementaldecoder("utf-8")()  # a character may span two chunks
            is_csv = False

            async def rewrite(message):
                nonlocal is_csv
                if message["type"] == "http.response.start":
                    headers = dict(message.get("headers") or [])
                    is_csv = headers.get(b"content-type", b"").startswith((b"text/csv", b"text/plain"))
                    is_csv = is_csv and headers.get(b"x-csv-formulas") != b"neutralised"  # csv_stream.py did it
                    if is_csv:  # the body's length changes: let it be chunked
                        message = {**message, "headers": [(k, v) for k, v in message["headers"]
                                                          if k.lower() != b"content-length"]}  # fmt: skip
                elif message["type"] == "http.response.body" and is_csv:
                    last = not message.get("more_body")
                    text = rewriter.feed(decoder.decode(message.get("body", b""), final=last))
                    if last:
                        text += rewriter.finish()
                    message = {**message, "body": text.encode("utf-8")}
                await send(message)

            await app(scope, receive, rewrite)

        return guarded

    return wrap
