#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus (corpus/) and its regression inputs (regressions/), spelled
as operations instead of bytes. The encoding is api_fuzz.cpp's: keep the two in step.

Run from anywhere: python3 test/fuzz/make_inputs.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = dict(map=0, map_fd=1, resize=2, write=3, common=4, truncate=5, anon=6, shm=7, drop=8,
             throwing=9)
EDGES = [0, 1, 4095, 4096, 4097, 8192, 65536, 1 << 20, 2**64 - 1, 2**64 - 11, 2**64 - 4096,
         2**64 - 4097, 2**63 - 1, 2**63, 1 << 47, 1 << 40, 1 << 32, 3 << 20, 2**63 - 4096, 2 << 20]
PAGE = 4096


def op(kind, slot=0, file=0):
    """The step byte: kind = byte % 10, slot = (byte >> 4) % 3, file = (byte >> 6) & 1."""
    for b in range(256):
        if b % 10 == KINDS[kind] and (b >> 4) % 3 == slot and (b >> 6) & 1 == file:
            return [b]
    raise ValueError((kind, slot, file))


def size(n):
    """Reader::size(): 0..63 as is, page multiples up to 63 pages, small values, or an edge."""
    if n < 64:
        return [n]
    if n % PAGE == 0 and n // PAGE < 64:
        return [0x80 | n // PAGE]
    if n in EDGES:
        return [0xC0 | EDGES.index(n)]
    if n // 1021 < 64 and n % 1021 < 256:
        return [0x40 | n // 1021, n % 1021]
    raise ValueError(n)


def flag(b):
    return [1 if b else 0]


def map_(access, offset=0, length=None, populate=False, huge=0, no_reserve=False, slot=0, file=0):
    acc = dict(read=0, write=1, cow=2)[access]
    out = op("map", slot, file) + [acc] + size(offset)
    out += flag(True) if length is None else flag(False) + size(length)
    return out + flag(populate) + [huge] + flag(no_reserve)


def anon_create(n, shared=False, dev_zero=False, populate=False, huge=0, no_reserve=False):
    return op("anon") + [0] + flag(shared) + flag(dev_zero) + flag(populate) + [huge] + \
        flag(no_reserve) + size(n)


def write(at, value=0x55, tracked=False, slot=0):
    return op("write", slot) + size(at) + [value] + flag(tracked)


def common(sub, *rest, slot=0, offset=0, length=None):
    rng = size(offset) + (flag(True) if length is None else flag(False) + size(length))
    return op("common", slot) + rng + [sub] + list(rest)


REGRESSIONS = {
    # issue 9 item 2: an fd view at offset 77, then resize(SIZE_MAX - 10): offset()+n overflows.
    "resize-offset-overflow": op("map_fd") + size(77) + size(128) + op("resize") + size(2**64 - 11),
    # issue 10 item 1: a WriteTracker over a view whose file shrank to one page; a write to
    # page 3 (past the end of the file) must be a FaultError, not an endless Retry.
    "write-tracker-past-eof": map_("write") + op("truncate") + size(PAGE) + write(3 * PAGE, tracked=True),
    # issue 10 item 3: explicit huge pages with none reserved must fail at creation, not on touch.
    "huge-explicit-no-reserve": anon_create(2 << 20, huge=2, no_reserve=True),
    "huge-explicit-populate": anon_create(2 << 20, huge=2, populate=True),
    # found by CI's fuzzing: a populated CopyOnWrite view was write-faulted at map time (a private
    # copy of every page), so it stopped following its file: cut to 100 bytes and regrown, the
    # file reads zeros after byte 100 while the view's copy of page 0 still held the old bytes.
    "cow-populate-follows-file": map_("cow", populate=True) + op("truncate") + size(100) +
    op("truncate") + size(2 * PAGE),
    # found by CI's fuzzing, a defect of the harness: a tracked write at byte 4095 of a view that
    # starts at file offset 45 lies in the view's page 1 (page 0 holds data()), not page 0.
    "tracker-unaligned-view": map_("write", offset=45) + write(4095, tracked=True),
    # found by CI's fuzzing, a defect of the harness: a page made read-only for good
    # (protect(Read|Exec) released) stays read-only through resize(); the model thought not.
    "protect-release-resize": map_("write") + common(2, 5, 1, offset=1, length=58) +
    op("resize") + size(8 * PAGE) + write(0),
}

CORPUS = {
    "map-read": map_("read") + common(3),
    "map-write-write": map_("write") + write(100) + write(PAGE + 7, tracked=True),
    "map-cow-write": map_("cow", offset=4097) + write(5) + common(1, 0),
    "map-offset-length": map_("read", offset=77, length=128) + common(4),
    "protect-release": map_("write") + common(2, 3, 1) + write(9),
    "flush-advise": map_("write") + common(6, 0) + common(0, 2) + common(5, 11),
    "truncate-under": map_("read", slot=1) + op("truncate") + size(100) + op("drop", 1),
    "resize-grow": map_("write") + op("resize") + size(8 * PAGE) + write(7 * PAGE),
    "resize-shrink": map_("write", offset=PAGE) + op("resize") + size(10),
    "anon": anon_create(3 * PAGE + 1) + op("anon") + [1] + size(10 * PAGE) + op("anon") + [3] + size(PAGE),
    "anon-shared-zero": anon_create(PAGE, shared=True, dev_zero=True) + op("anon") + [2] + size(0) + flag(True) + [3],
    "shm": op("shm") + [0] + op("shm") + [1] + size(3 * PAGE + 5),
    "sealed": op("shm") + [2] + size(PAGE) + op("shm") + [3] + [6] + size(2 * PAGE),
    "throwing": op("throwing") + size(2**64 - 1) + flag(True) + size(5),
}


def write_all(folder, inputs):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    for name, data in inputs.items():
        with open(os.path.join(HERE, folder, name), "wb") as out:
            out.write(bytes(data))


write_all("regressions", REGRESSIONS)
write_all("corpus", CORPUS)  # libFuzzer is given regressions/ as a second seed directory
