#!/usr/bin/env python3
"""tnefwriter.py -- build TNEF (winmail.dat) streams for the project's own test fixtures.

Written from MS-OXTNEF: a stream is the signature 78 9F 3E 22, a 16-bit key,
then attributes (level byte, uint32 id = type << 16 | id, uint32 length, data,
uint16 checksum = sum of the data bytes mod 65536).  attMAPIProps holds a MAPI
property stream: uint32 count, then per property uint16 type, uint16 id and
the value (fixed-size values padded to 4; string8/unicode/binary with a value
count and a length each, padded to 4).

As a library: message(...) returns the bytes of one stream; the keyword
arguments say which code page attributes and properties it carries and how it
is damaged (corrupt=..., see CORRUPTIONS).  As a program:

    tnefwriter.py [--oem N] [--cpid N] [--mcp N] [--lcid N] [--subject TEXT]
                  [--body TEXT] [--attach NAME=CONTENT ...] [--corrupt KIND] OUT

writes one stream (text arguments are encoded in the --oem code page).
The output is checked with Debian's tnef and ytnefprint by writer.test.
"""
import argparse
import struct
import sys

SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2

ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_BODY = 0x0002800C
ATT_MAPI_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005

PT_LONG, PT_BOOLEAN, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0003, 0x000B, 0x001E, 0x001F, 0x0102
PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE, PR_MESSAGE_LOCALE_ID = 0x3FDE, 0x3FFD, 0x3FF1
PR_BODY, PR_SUBJECT, PR_ATTACH_METHOD, PR_ATTACH_LONG_FILENAME = 0x1000, 0x0037, 0x3705, 0x3707

CORRUPTIONS = (
    'none',
    'checksum',      # attOemCodepage (and attMAPIProps) checksums off by one
    'truncated',     # the stream stops inside attOemCodepage
    'zero',          # the stream is empty (zero bytes)
    'zero-attr',     # attOemCodepage has length 0
    'oversized',     # attOemCodepage claims 0x7FFFFFF0 bytes
    'signature',     # wrong signature
)


def pad4(b):
    return b + b'\0' * (-len(b) % 4)


def attribute(level, att_id, data, checksum=None):
    """One attribute; checksum overrides the computed one (for damaged fixtures)."""
    if checksum is None:
        checksum = sum(data) & 0xFFFF
    return struct.pack('<BII', level, att_id, len(data)) + data + struct.pack('<H', checksum)


def prop(ptype, pid, value):
    """One MAPI property (no named properties: we never need to write them)."""
    tag = struct.pack('<HH', ptype, pid)
    if ptype in (PT_LONG, PT_BOOLEAN):
        return tag + struct.pack('<I', value)
    if ptype == PT_UNICODE:
        value = value.encode('utf-16-le') + b'\0\0'
    elif ptype == PT_STRING8:
        value = value + b'\0'
    return tag + struct.pack('<II', 1, len(value)) + pad4(value)


def props(plist):
    return struct.pack('<I', len(plist)) + b''.join(prop(*p) for p in plist)


def attachment(title, content, cp):
    """The attributes of one attachment: rendering, title, data, properties."""
    rend = struct.pack('<HIHHI', 1, 0xFFFFFFFF, 0, 0, 1)
    name = title if isinstance(title, bytes) else title.encode(cp)
    return (attribute(LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, rend)
            + attribute(LVL_ATTACHMENT, ATT_ATTACH_TITLE, name + b'\0')
            + attribute(LVL_ATTACHMENT, ATT_ATTACH_DATA, content)
            + attribute(LVL_ATTACHMENT, ATT_ATTACHMENT,
                        props([(PT_LONG, PR_ATTACH_METHOD, 1),
                               (PT_STRING8, PR_ATTACH_LONG_FILENAME, name)])))


def python_codec(cp):
    return 'cp%d' % cp if cp else 'cp1252'


def message(oem=1252, cpid=None, mcp=None, lcid=None, subject=None, body=None,
            pr_body=None, attachments=(), corrupt='none', oem_secondary=0):
    """The bytes of one TNEF stream.

    subject/body: str (encoded in the oem code page) or bytes; body goes in
    attBody; pr_body: str -> PR_BODY as PT_UNICODE, bytes -> PT_STRING8.
    attachments: (title, content bytes) pairs.  oem=None: no attOemCodepage.
    """
    if corrupt == 'zero':
        return b''
    cp = python_codec(oem)
    sig = SIGNATURE + (1 if corrupt == 'signature' else 0)
    out = struct.pack('<IH', sig, 0x0001)
    out += attribute(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack('<I', 0x00010000))
    bad = corrupt == 'checksum'
    if oem is not None:
        data = struct.pack('<II', oem, oem_secondary)
        if corrupt == 'zero-attr':
            data = b''
        whole = attribute(LVL_MESSAGE, ATT_OEM_CODEPAGE, data,
                          (sum(data) + 1) & 0xFFFF if bad else None)
        if corrupt == 'oversized':
            whole = struct.pack('<BII', LVL_MESSAGE, ATT_OEM_CODEPAGE, 0x7FFFFFF0) + data
        if corrupt == 'truncated':
            return out + whole[:13]
        out += whole
    out += attribute(LVL_MESSAGE, ATT_MESSAGE_CLASS, b'IPM.Microsoft Mail.Note\0')
    if subject is not None:
        s = subject if isinstance(subject, bytes) else subject.encode(cp)
        out += attribute(LVL_MESSAGE, ATT_SUBJECT, s + b'\0')
    if body is not None:
        out += attribute(LVL_MESSAGE, ATT_BODY, body if isinstance(body, bytes) else body.encode(cp))
    plist = []
    if mcp is not None:
        plist.append((PT_LONG, PR_MESSAGE_CODEPAGE, mcp))
    if cpid is not None:
        plist.append((PT_LONG, PR_INTERNET_CPID, cpid))
    if lcid is not None:
        plist.append((PT_LONG, PR_MESSAGE_LOCALE_ID, lcid))
    if pr_body is not None:
        plist.append((PT_UNICODE if isinstance(pr_body, str) else PT_STRING8, PR_BODY, pr_body))
    if plist:
        data = props(plist)
        out += attribute(LVL_MESSAGE, ATT_MAPI_PROPS, data, (sum(data) + 1) & 0xFFFF if bad else None)
    for title, content in attachments:
        out += attachment(title, content, cp)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description='write one TNEF stream')
    ap.add_argument('--oem', type=int, default=1252)
    ap.add_argument('--no-oem', action='store_true')
    ap.add_argument('--cpid', type=int)
    ap.add_argument('--mcp', type=int)
    ap.add_argument('--lcid', type=int)
    ap.add_argument('--subject')
    ap.add_argument('--body')
    ap.add_argument('--attach', action='append', default=[], metavar='NAME=CONTENT')
    ap.add_argument('--corrupt', choices=CORRUPTIONS, default='none')
    ap.add_argument('out')
    a = ap.parse_args(argv)
    atts = [(n, c.encode()) for n, c in (x.split('=', 1) for x in a.attach)]
    data = message(None if a.no_oem else a.oem, a.cpid, a.mcp, a.lcid, a.subject, a.body,
                   attachments=atts, corrupt=a.corrupt)
    with open(a.out, 'wb') as f:
        f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
