"""The floor: the least work any Python monitor can do for a pass.

    python floor.py URLS_FILE              fetch every page with aiohttp (32 connections), hash it
    python floor.py --extract URLS_FILE    ...and parse it with lxml and select #content

Prints the number of pages it saw. No conditional requests, no storage, no diff.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

import aiohttp
import lxml.html
from lxml.cssselect import CSSSelector

SELECT = CSSSelector("#content")


async def main(urls: list[str], extract: bool) -> int:
    seen = 0
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for url in urls:
            queue.put_nowait(url)

        async def worker() -> None:
            nonlocal seen
            while not queue.empty():
                url = queue.get_nowait()
                async with session.get(url) as response:
                    body = await response.read()
                hashlib.sha256(body).hexdigest()
                if extract:
                    document = lxml.html.document_fromstring(body)
                    [part] = SELECT(document)
                    hashlib.sha256(lxml.html.tostring(part)).hexdigest()
                seen += 1

        await asyncio.gather(*(worker() for _ in range(32)))
    return seen


if __name__ == "__main__":
    extract = "--extract" in sys.argv
    path = sys.argv[-1]
    with open(path) as file:
        urls = file.read().split()
    print(asyncio.run(main(urls, extract)))
