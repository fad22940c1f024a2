"""The latency benchmark's web: many hosts (one port each on 127.0.0.1) that answer after a
latency of their own, counting on the server side how many requests each host has in flight.

    python latency_server.py HOSTS SEED PORTS_FILE

Each host's latency is drawn once from 50-500 ms; 1% of the hosts are slow (1.5 s) and 1%
fail (503 at once). The ports go to PORTS_FILE as JSON, with the control port, whose
`GET /stats` answers what was served: requests, the summed latency they were made to wait
(the work a pass cannot do faster than, given its concurrency), and the most requests
ever in flight on one host and on all of them.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

SLOW = 1.5  # seconds
BODY = "<html><body><div id='content'><h2>Profile</h2><p>{text}</p></div></body></html>"


class Web:
    def __init__(self, hosts: int, seed: int) -> None:
        rng = random.Random(seed)
        self.latency = [rng.uniform(0.05, 0.5) for _ in range(hosts)]
        self.failing: set[int] = set()
        for host in rng.sample(range(hosts), max(1, hosts // 50)):
            if len(self.failing) < max(1, hosts // 100):
                self.failing.add(host)
            else:
                self.latency[host] = SLOW
        self.in_flight = [0] * hosts
        self.max_per_host = 0
        self.total = 0
        self.max_total = 0
        self.requests = 0
        self.waited = 0.0

    async def serve(
        self, host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                self.in_flight[host] += 1
                self.total += 1
                self.max_per_host = max(self.max_per_host, self.in_flight[host])
                self.max_total = max(self.max_total, self.total)
                try:
                    if host in self.failing:
                        status, body = "503 Service Unavailable", b"down for now"
                    else:
                        await asyncio.sleep(self.latency[host])
                        self.waited += self.latency[host]
                        status, body = "200 OK", BODY.format(text=f"{host} {path}").encode()
                finally:
                    self.in_flight[host] -= 1
                    self.total -= 1
                self.requests += 1
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        stats = {
            "requests": self.requests,
            "waited": round(self.waited, 2),
            "max_per_host": self.max_per_host,
            "max_total": self.max_total,
            "mean_latency": round(sum(self.latency) / len(self.latency), 4),
        }
        body = json.dumps(stats).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()


async def main(hosts: int, seed: int, ports_file: Path) -> None:
    web = Web(hosts, seed)
    servers = []
    for host in range(hosts):
        server = await asyncio.start_server(
            lambda r, w, host=host: web.serve(host, r, w), "127.0.0.1", 0, backlog=64
        )
        servers.append(server)
    control = await asyncio.start_server(web.control, "127.0.0.1", 0)
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    document = {"ports": ports, "control": control.sockets[0].getsockname()[1]}
    document["failing"] = sorted(web.failing)
    await asyncio.to_thread(ports_file.write_text, json.dumps(document))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))
