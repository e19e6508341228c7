# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The hosts_access(5) language as libwrap reads it: tables and option fields.

scan_table() splits a table the way libwrap's xgets()/table_match() do and keeps every byte,
so unmanaged lines survive an edit untouched; option_fields()/split_option() cut options like
options.c, and option_value_error() names a value libwrap rejects. TcpwrapError is the one
error of the tcpwrap area. Matching lives in _tcpwrap_match, user rules in _tcpwrap_rules.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import re
import stat
from functools import lru_cache

from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError, read_if_exists

# libwrap reads a logical line into char[2048] with fgets(): 2046 bytes of
# text plus the newline fit, anything longer is "line too long".
BUFLEN = 2048
MAX_LINE_TEXT = BUFLEN - 2
LIST_SEPARATORS = ', \t\r\n'
WHITESPACE = ' \t\r\n'
# isspace() in the C locale: chop_string() trims these around an option, strtol() skips them.
C_SPACE = ' \t\n\v\f\r'
LONG_MIN, LONG_MAX, ULONG_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1

# hosts_options(5) keywords: (needs a value, accepts a value, must be last)
OPTION_TABLE = {
    'user': (True, True, False),
    'group': (True, True, False),
    'umask': (True, True, False),
    'linger': (True, True, False),
    'keepalive': (False, False, False),
    'spawn': (True, True, False),
    'twist': (True, True, True),
    'rfc931': (False, True, False),
    'setenv': (True, True, False),
    'nice': (False, True, False),
    'severity': (True, True, False),
    'allow': (False, False, True),
    'deny': (False, False, True),
    'banners': (True, True, False),
    # Debian builds libwrap with ACLEXEC: the command's exit status decides at connection time.
    'aclexec': (True, True, False),
}
SYSLOG_FACILITIES = ('kern', 'user', 'mail', 'daemon', 'auth', 'lpr', 'news', 'uucp', 'cron',
                     'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7')
SYSLOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')

_ASCII_FOLD = {c: c + 32 for c in range(ord('A'), ord('Z') + 1)}
_C_DECIMAL_RE = re.compile(r'[ \t\n\v\f\r]*([+-]?)([0-9]+)')
_C_OCTAL_RE = re.compile(r'[ \t\n\v\f\r]*([+-]?)([0-7]+)')
_LIST_SEPARATOR_RE = re.compile('[' + re.escape(LIST_SEPARATORS) + ']+')


class TcpwrapError(ValueError):
    """Input that libwrap would misread; the message names the field."""


def cached(func):
    """Memoise a pure function of strings: evaluating 10,000 queries reuses every pattern."""
    return lru_cache(maxsize=65536)(func)


@cached
def fold(text):
    """strcasecmp() semantics: ASCII letters only, as in the C locale."""
    return text.translate(_ASCII_FOLD)


# ---------------------------------------------------------------------------
# Numbers as glibc reads them on a 64-bit host
# ---------------------------------------------------------------------------

def c_int(value):
    """A C long stored into an int: the low 32 bits, signed (4294967304 becomes 8)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def c_strtol(text):
    """strtol(text, &end, 10): (value saturated to a long, rest after the digits), or (None, text)."""
    match = _C_DECIMAL_RE.match(text)
    if match is None:
        return None, text
    value = int(match.group(2))
    value = max(LONG_MIN, -value) if match.group(1) == '-' else min(LONG_MAX, value)
    return value, text[match.end():]


@cached
def c_atoi(text):
    """atoi(): strtol() stored into an int, 0 without digits."""
    value = c_strtol(text)[0]
    return 0 if value is None else c_int(value)


@cached
def scan_int(text):
    """sscanf(text, "%d%c", ...) == 1: the int read, or None when anything follows the number."""
    value, rest = c_strtol(text)
    return None if value is None or rest else c_int(value)


@cached
def scan_unsigned(text, octal=False):
    """sscanf(text, "%u%c" or "%o%c", ...) == 1: strtoul() stored into an unsigned int, or None.

    strtoul() negates a "-" number modulo 2**64 and saturates what does not fit in a long.
    """
    match = (_C_OCTAL_RE if octal else _C_DECIMAL_RE).match(text)
    if match is None or match.end() != len(text):
        return None
    value = int(match.group(2), 8 if octal else 10)
    if value > ULONG_MAX:
        value = ULONG_MAX
    elif match.group(1) == '-':
        value = -value % (ULONG_MAX + 1)
    return value & 0xFFFFFFFF


# ---------------------------------------------------------------------------
# Reading a table
# ---------------------------------------------------------------------------

class Entry:
    """One logical line of a table with the exact bytes it came from.

    kind is one of: blank, comment, rule, malformed (libwrap skips it with a
    warning), broken (no newline, or a file that cannot be read: libwrap stops
    reading the file and treats it as an error, which denies access when it
    happens in hosts.deny), ignored (libwrap never reads it: it follows an
    over-long line), unread (a directory: libwrap reads nothing from it).
    Entries of a whole file that cannot be read have no line numbers.
    """

    def __init__(self, raw, first_line, last_line, kind, text=None, problem=None):
        self.raw = raw
        self.first_line = first_line
        self.last_line = last_line
        self.kind = kind
        self.text = text
        self.problem = problem
        self.daemons = self.clients = self.options = None
        self.daemon_tokens = self.client_tokens = ()
        if kind == 'rule':
            self.daemons, rest = split_at(text, ':')
            self.clients, self.options = split_at(rest, ':')
            self.daemon_tokens = tuple(tokens_of(self.daemons))
            self.client_tokens = tuple(tokens_of(self.clients))

    def __repr__(self):
        return f'Entry({self.kind}, lines {self.first_line}-{self.last_line}, {self.raw!r})'


@cached
def split_at(text, delimiter):
    """libwrap split_at(): first delimiter outside [brackets]; (head, tail|None)."""
    if '[' not in text and ']' not in text:
        index = text.find(delimiter)
        return (text, None) if index < 0 else (text[:index], text[index + 1:])
    depth = 0
    for index, char in enumerate(text):
        if char == '[':
            depth += 1
        elif char == ']':
            depth -= 1
        elif depth == 0 and char == delimiter:
            return text[:index], text[index + 1:]
    return text, None


def _xgets(data, pos, line):
    """Model of libwrap xgets(): (logical bytes, new pos, new line, status).

    status: 'line' (ends in LF), 'eof' (text without LF at end of file),
    'overflow' (the 2048-byte buffer filled: libwrap reads no further),
    'end' (nothing left).
    """
    buf = bytearray()
    room = BUFLEN
    size = len(data)
    while True:
        if pos >= size:
            return bytes(buf), pos, line, ('eof' if buf else 'end')
        if room <= 1:
            return bytes(buf), pos, line, 'overflow'
        newline = data.find(b'\n', pos, pos + room - 1)
        end = newline + 1 if newline >= 0 else min(size, pos + room - 1)
        chunk = data[pos:end]
        pos = end
        nul = chunk.find(b'\0')
        got = chunk if nul < 0 else chunk[:nul]
        if got.endswith(b'\n'):
            line += 1
            if got.endswith(b'\\\n'):
                got = got[:-2]
            else:
                buf += got
                return bytes(buf), pos, line, 'line'
        buf += got
        room -= len(got)


def scan_table(data):
    """Split table bytes into Entry objects whose raw bytes concatenate to data."""
    entries = []
    pos = 0
    line = 0
    while pos < len(data):
        start, first = pos, line + 1
        logical, pos, line, status = _xgets(data, pos, line)
        raw = data[start:pos]
        text = logical.decode('latin-1')
        if status == 'overflow':
            # The rest of the over-long physical line belongs to this entry.
            newline = data.find(b'\n', pos)
            pos = len(data) if newline < 0 else newline + 1
            raw = data[start:pos]
            line += 1
            entries.append(Entry(raw, first, line, 'broken', text,
                                 f'line too long ({BUFLEN - 1} bytes or more): libwrap stops reading this file '
                                 'here and fails closed'))
            if pos < len(data):
                rest = data[pos:]
                entries.append(Entry(rest, line + 1, line + rest.count(b'\n') + (not rest.endswith(b'\n')),
                                     'ignored', None,
                                     'never read by libwrap: follows a line that is too long'))
            break
        if status == 'end':
            if raw:
                entries.append(Entry(raw, first, max(first, line), 'blank', text))
            break
        if status == 'eof':
            entries.append(Entry(raw, first, max(first, line), 'broken', text,
                                 'missing newline at end of file: libwrap ignores this line and fails closed'))
            break
        if b'\0' in raw:
            problem = 'NUL byte: libwrap truncates the line there and joins what follows'
        else:
            problem = None
        if text.startswith('#'):
            kind = 'comment'
        elif text.strip(WHITESPACE) == '':
            kind = 'blank'
        elif split_at(text, ':')[1] is None:
            kind, problem = 'malformed', problem or 'missing ":" separator: libwrap skips this line'
        else:
            kind = 'rule'
        entries.append(Entry(raw, first, line, kind, text, problem))
    return entries


def place(path, line):
    """Where an entry is, in words: its file and line, or the file alone."""
    return path if line is None else f'{path} line {line}'


def unreadable_table(path, exc):
    """(kind, problem) of a table that read_if_exists() could not read (exc), as libwrap sees it.

    fopen() succeeds on a directory and on /dev/null and fgets() then reads nothing, so either
    reads as empty ('unread'). Anything else (a symlink loop, a path through a file, no permission, a
    FIFO or a device, which are not opened) is libwrap's "cannot open" error ('broken').
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        return 'unread', ('is a directory: libwrap opens it, reads no rule and goes on as if the file were empty '
                          '(a hosts.deny that is a directory denies nothing: the policy fails open)')
    # a table linked to /dev/null (never opened here): libwrap reads it as an empty file
    if st is not None and stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3):
        return 'unread', ('is /dev/null: libwrap opens it, reads no rule and goes on as if the file were empty '
                          '(a hosts.deny that is /dev/null denies nothing: the policy fails open)')
    cause = os.strerror(exc.errno) if getattr(exc, 'errno', None) else 'a FIFO, socket or device'
    return 'broken', (f'cannot be read as a table ({cause}): libwrap fails closed when this is hosts.deny and goes '
                      'on to hosts.deny when it is hosts.allow')


def read_table(path):
    """The entries of a table file as libwrap reads it; never raises for what is at path.

    A missing file reads as empty; one that cannot be read as text is a single entry without
    line numbers that carries the problem (see unreadable_table()).
    """
    try:
        data = read_if_exists(path)
    except (FileIOError, OSError) as exc:
        kind, problem = unreadable_table(path, exc)
        return [Entry(b'', None, None, kind, '', problem)]
    return scan_table(data or b'')


def tokens_of(text):
    """The patterns of a daemon or client list, split where libwrap splits them."""
    return [t for t in _LIST_SEPARATOR_RE.split(text or '') if t]


# ---------------------------------------------------------------------------
# Options (options.c)
# ---------------------------------------------------------------------------

def option_fields(text):
    """libwrap get_field(): split at ':' with '\\:' read as a literal ':'."""
    fields = []
    current = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == ':':
            fields.append(''.join(current))
            current = []
            index += 1
            if index >= len(text):
                return fields
            continue
        if char == '\\' and text[index + 1:index + 2] == ':':
            index += 1
            char = ':'
        current.append(char)
        index += 1
    if current or not fields:
        fields.append(''.join(current))
    return fields if text else []


def split_option(field):
    """(key, value|None) as process_options() separates them.

    chop_string() trims every C blank (\\v and \\f too) around the option; the name ends at
    "=", space, tab, CR or LF, and only those are skipped before the value.
    """
    option = field.strip(C_SPACE)
    cut = len(option)
    for index, char in enumerate(option):
        if char in '= \t\r\n':
            cut = index
            break
    key, value = option[:cut], option[cut:]
    if value and value[0] != '=':
        value = value[1:].lstrip(WHITESPACE)
    if value.startswith('='):
        value = value[1:].lstrip(WHITESPACE)
    return key, (value or None)


def option_value_error(name, value, env, notes):
    # umask, linger, nice and rfc931 are read with sscanf("%o%c"/"%d%c"): blanks before the
    # number and a sign are accepted, anything after it is not, and the int wraps.
    if name == 'umask':
        mask = scan_unsigned(value, octal=True)
        if mask is None or mask & 0o777 != mask:
            return f'bad umask value: "{value}"'
    elif name == 'linger':
        seconds = scan_int(value)
        if seconds is None or seconds < 0:
            return f'bad linger value: "{value}"'
    elif name == 'nice' and value is not None and scan_int(value) is None:
        return f'bad nice value: "{value}"'
    elif name == 'rfc931' and value is not None:
        timeout = scan_int(value)
        if timeout is None or timeout <= 0:
            return f'bad rfc931 timeout: "{value}"'
    elif name == 'severity':
        facility, level = split_at(value, '.')
        names = [(SYSLOG_LEVELS, value)] if level is None else [(SYSLOG_FACILITIES, facility), (SYSLOG_LEVELS, level)]
        for table, word in names:
            if fold(word) not in table:
                return f'bad syslog facility or severity: "{word}"'
    elif name == 'user':
        # user_option() looks the group of "user.group" up first; "user." names the group "".
        user, group = split_at(value, '.')
        if group is not None and not env.group_exists(group):
            return f'unknown group: "{group}"'
        if not env.user_exists(user):
            return f'unknown user: "{user}"'
        notes.append(f'the "user" option does not switch the daemon to {value}: Debian\'s libwrap acts on it only '
                     'in tcpdmatch\'s dry run; checked against this host\'s passwd only')
    elif name == 'group':
        if not env.group_exists(value):
            return f'unknown group: "{value}"'
        notes.append(f'the "group" option does not switch the daemon to group {value}: Debian\'s libwrap acts on it '
                     'only in tcpdmatch\'s dry run')
    return None
