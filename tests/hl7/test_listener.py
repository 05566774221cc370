"""``hygie hl7 listen``: a real process on a loopback port, a real MLLP client (a socket
with the framing), several messages on one connection, each answered in order."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from hygie.db import Database
from hygie.models import AuditEvent, Encounter, Patient
from tests.factories import World
from tests.hl7.conftest import adt, pid, pv1, when

VT, FS_CR = b"\x0b", b"\x1c\x0d"


class MllpClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""

    def send(self, message: str) -> dict[str, list[str]]:
        self.sock.sendall(VT + message.encode("utf-8") + FS_CR)
        while FS_CR not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "the listener closed the connection"
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(FS_CR)
        assert frame.startswith(VT)
        text = frame[1:].decode("utf-8")
        return {line[:3]: line.split("|") for line in text.split("\r") if line}

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener(env: dict[str, str], world: World) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygie.cli.main", "hl7", "listen", "--port", "0"],
        env={**os.environ, **env}, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            found = re.search(r"listener on 127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        assert port, f"the listener did not start (exit {proc.poll()})"
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_messages_over_mllp_are_applied_and_acknowledged(
    db: Database, world: World, listener: int
) -> None:
    client = MllpClient(listener)
    try:
        register = client.send(adt("A04", "L-1", pid(names="LEBLANC^Paul^^^^^L", sex="M",
                                                     birth="19700101"), pv1(klass="O")))  # fmt: skip
        assert register["MSA"][1:3] == ["AA", "L-1"], register
        ipp = re.search(r"IPP (\d+)", register["MSA"][3])
        assert ipp is not None
        update = client.send(adt("A08", "L-2", pid(ipp=ipp.group(1),
                                                   names="LEBLANC^Paul^^^^^L~ROUX^^^^^^D",
                                                   sex="M", birth="19700101"), "PV1|1|N"))  # fmt: skip
        assert update["MSA"][1:3] == ["AA", "L-2"], update
        broken = client.send("MSH|^~\\&|GAM|CLINIQUE|HYGIE|X|20261123||ADT^A08|L-3|P|2.5")
        assert broken["MSA"][1:3] == ["AR", "L-3"] and broken["ERR"][2] == "EVN^1"
    finally:
        client.close()
    second = MllpClient(listener)
    try:
        admit = second.send(adt("A01", "L-4", pid(ipp=ipp.group(1), names="LEBLANC^Paul^^^^^L",
                                                  sex="M", birth="19700101"),
                                pv1(admit=when(-timedelta(hours=1)))))  # fmt: skip
        assert admit["MSA"][1:3] == ["AA", "L-4"], admit
        assert admit["MSH"][8] == "ACK^A01^ACK"
        paul = pid(ipp=ipp.group(1), names="LEBLANC^Paul^^^^^L", sex="M", birth="19700101")
        out = second.send(adt("A03", "L-5", paul, pv1(discharge=when(-timedelta(minutes=5)))))
        assert out["MSA"][1:3] == ["AA", "L-5"], out
        twin = second.send(adt("A04", "L-6", pid(ipp="DUP-1", names="LEBLANC^Paul^^^^^L",
                                                 sex="M", birth="19700101"), pv1(klass="O")))  # fmt: skip
        assert twin["MSA"][1:3] == ["AA", "L-6"], twin
        merge = second.send(adt("A40", "L-7", paul, "MRG|DUP-1^^^^PI"))
        assert merge["MSA"][1:3] == ["AA", "L-7"], merge
    finally:
        second.close()

    with db.sessions() as s:
        patient, duplicate = s.scalars(select(Patient).where(Patient.birth_name == "LEBLANC")
                                       .order_by(Patient.id)).all()  # fmt: skip
        assert patient.used_name == "ROUX"
        assert (duplicate.state.value, duplicate.merged_into_id) == ("merged", patient.id)
        assert s.scalars(select(Encounter.status)).one().value == "finished"
        assert s.scalars(select(Encounter.patient_id)).one() == patient.id
        events = list(s.execute(select(AuditEvent.action, AuditEvent.outcome,
                                       AuditEvent.username, AuditEvent.details)
                                .where(AuditEvent.how == "hl7").order_by(AuditEvent.id)))  # fmt: skip
    assert [(a, o, u, d["control_id"]) for a, o, u, d in events] == [
        ("hl7.adt.a04", "allowed", "feed.gam", "L-1"),
        ("hl7.adt.a08", "allowed", "feed.gam", "L-2"),
        ("hl7.message", "failed", "feed.gam", "L-3"),
        ("hl7.adt.a01", "allowed", "feed.gam", "L-4"),
        ("hl7.adt.a03", "allowed", "feed.gam", "L-5"),
        ("hl7.adt.a04", "allowed", "feed.gam", "L-6"),
        ("hl7.adt.a40", "allowed", "feed.gam", "L-7"),
    ]
