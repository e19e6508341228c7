# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""A policy compiled once, so that each access decision looks only at the rules that can match.

CompiledPolicy gives the verdicts of _tcpwrap_match.evaluate() (the reference, which walks every
rule) for many queries: daemon lists are decided once per daemon (and server), options are run
once per rule, and rules whose client list can match only literal IPv4 addresses, prefixes such
as "192.168." or net/mask patterns are filed under those keys. A query then tries, in table
order, the rules filed under its address merged with the rules that could not be filed. Each
client list is compiled once into a predicate: address patterns are decided on the address's
keys, ALL is true, anything else asks the reference matcher. tests/unit compares the compiled
policy with evaluate() on generated policies; the differential test compares both with
tcpdmatch.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import heapq

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import fold, place, split_at
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import (
    Host,
    Matcher,
    Verdict,
    cidr_mask,
    dot_quad_addr,
    ipv6_bytes,
    rule_verdict,
)

_ADDRESS_CHARS = frozenset('0123456789./')
_V4_MAPPED = b'\0' * 10 + b'\xff\xff'
NO_MATCH = Verdict(True, reason='no rule matched: access granted')


def _host_part(token):
    """The pattern a client token matches against the client host (as Matcher.client_match)."""
    host = split_at(token[1:], '@')[1]
    return token if host is None else host


def address_keys(token):
    """Index keys of a client token that can only match literal IPv4 text, or None.

    ('exact', text), ('prefix', text) or ('mask', mask, net); () for a net/mask libwrap can
    never match. None: the token may match names or anything else, so it is not indexed.
    """
    pattern = _host_part(token)
    if not pattern or not set(pattern) <= _ADDRESS_CHARS:
        return None
    net, mask = split_at(pattern, '/')
    if mask is not None:
        # Only the IPv4 (or IPv4-mapped) branch of masked_match() can match a bare net/mask.
        net_value = dot_quad_addr(net)
        mask_value = dot_quad_addr(mask)
        if mask_value is None:
            mask_value = cidr_mask(mask)
        if net_value is None or mask_value is None:
            return ()
        return (('mask', mask_value, net_value),)
    if pattern.startswith('.'):
        return None             # a suffix pattern, matched against the end of the address text
    if pattern.endswith('.'):
        return (('prefix', pattern),)
    return (('exact', pattern),)


def client_list_keys(tokens):
    """Keys under which a client list can match, or None when it must always be tried.

    Only patterns before the first EXCEPT can make a list match (list_match()).
    """
    keys = []
    for token in tokens:
        if fold(token) == 'except':
            break
        token_keys = address_keys(token)
        if token_keys is None:
            return None
        keys.extend(token_keys)
    return keys


def _token_predicate(token):
    """(matcher, address keys) -> bool, equal to matcher.client_match(token).

    Patterns address_keys() can file are decided on the address keys alone; ALL matches any
    client; anything else (names, user@host, wildcards, IPv6, /files) asks the matcher.
    """
    if split_at(token[1:], '@')[1] is not None:
        return lambda matcher, keys: matcher.client_match(token)
    if fold(token) == 'all':
        return lambda matcher, keys: True
    found = address_keys(token)
    if found is None:
        return lambda matcher, keys: matcher.host_match(token, matcher.client)
    if not found:
        return lambda matcher, keys: False
    key = found[0]
    if key[0] == 'exact':
        return lambda matcher, keys: keys[0] == key[1]
    if key[0] == 'prefix':
        return lambda matcher, keys: keys[0].startswith(key[1])
    return lambda matcher, keys: any(value & key[1] == key[2] for value in keys[2])


def compile_client_list(tokens):
    """(matcher, address keys) -> bool, equal to matcher.list_match(tokens, matcher.client_match):
    some pattern before the first EXCEPT matches, and the list after it does not."""
    folded = [fold(token) for token in tokens]
    exceptions = None
    if 'except' in folded:
        cut = folded.index('except')
        tokens, exceptions = tokens[:cut], compile_client_list(tokens[cut + 1:])
    predicates = [_token_predicate(token) for token in tokens]

    def matches(matcher, keys):
        for predicate in predicates:
            if predicate(matcher, keys):
                return exceptions is None or not exceptions(matcher, keys)
        return False
    return matches


class _TableView:
    """The rules of one table whose daemon list matches one daemon, indexed by client address."""

    def __init__(self):
        self.always = []        # positions of rules that cannot be indexed, and of broken lines
        self.exact = {}
        self.prefix = {}
        self.masks = {}         # mask -> {network -> positions}

    def add(self, position, keys):
        if keys is None:
            self.always.append(position)
            return
        for key in keys:
            if key[0] == 'mask':
                bucket = self.masks.setdefault(key[1], {}).setdefault(key[2], [])
            else:
                bucket = (self.exact if key[0] == 'exact' else self.prefix).setdefault(key[1], [])
            if not bucket or bucket[-1] != position:
                bucket.append(position)

    def candidates(self, address_keys):
        """Positions to try, in table order: the filed ones for this address and the rest."""
        text, prefixes, values = address_keys
        found = []
        if self.exact:
            bucket = self.exact.get(text)
            if bucket:
                found.append(bucket)
        if self.prefix:
            for prefix in prefixes:
                bucket = self.prefix.get(prefix)
                if bucket:
                    found.append(bucket)
        for mask, networks in self.masks.items():
            for value in values:
                bucket = networks.get(value & mask)
                if bucket:
                    found.append(bucket)
        if not found:
            return self.always
        if len(found) == 1 and not self.always:
            return found[0]
        return heapq.merge(self.always, *found)


def query_keys(address):
    """What the index needs of a client address: its text as string_match() compares it, the
    prefixes of that text ending in a dot, and its IPv4 values as masked_match() computes them."""
    text = fold(address)
    if text.startswith('::ffff:') and dot_quad_addr(address[7:]) is not None:
        text = text[7:]
    prefixes = [text[:index + 1] for index, char in enumerate(text) if char == '.']
    values = []
    value = dot_quad_addr(address)
    if value is not None:
        values.append(value)
    raw = ipv6_bytes(address)
    if raw is not None and raw[:12] == _V4_MAPPED:
        values.append(int.from_bytes(raw[12:], 'big'))
    return text, prefixes, values


class CompiledPolicy:
    """tables: [('allow', path, entries), ('deny', path, entries)], as evaluate() takes them."""

    def __init__(self, tables, env=None):
        self.env = env or Environment()
        self.tables = tables
        self._client_keys = []      # per table: entry position -> keys (rules only)
        for _table, _path, entries in tables:
            self._client_keys.append({position: client_list_keys(entry.client_tokens)
                                      for position, entry in enumerate(entries) if entry.kind == 'rule'})
        # Per table, each rule's client list compiled into one predicate.
        self._client_lists = [{position: compile_client_list(entry.client_tokens)
                               for position, entry in enumerate(entries) if entry.kind == 'rule'}
                              for _table, _path, entries in tables]
        self._views = {}
        self._verdicts = {}
        self._address_keys = {}     # the same address is often asked for several daemons

    def _views_for(self, matcher):
        """Per table, the view of the rules whose daemon list matches this daemon and server."""
        key = (matcher.daemon, matcher.server.address, matcher.server.name, matcher.server.port)
        views = self._views.get(key)
        if views is None:
            views = []
            for (_table, _path, entries), client_keys in zip(self.tables, self._client_keys):
                view = _TableView()
                for position, entry in enumerate(entries):
                    if entry.kind == 'broken':
                        view.add(position, None)
                    elif entry.kind == 'rule' and matcher.list_match(entry.daemon_tokens, matcher.server_match):
                        view.add(position, client_keys[position])
                views.append(view)
            self._views[key] = views
        return views

    def _rule_verdict(self, table_index, position):
        """The verdict of a matching rule depends on the rule only: made once per rule."""
        key = (table_index, position)
        verdict = self._verdicts.get(key)
        if verdict is None:
            table, path, entries = self.tables[table_index]
            entry = entries[position]
            if entry.kind == 'broken':
                verdict = Verdict(False, table, path, entry.last_line,
                                  reason=f'denied by libwrap: {entry.problem} ({place(path, entry.last_line)})')
            else:
                verdict = rule_verdict(entry, table, path, table_index == 0, self.env)
            self._verdicts[key] = verdict
        return verdict

    def decide(self, daemon, address=None, hostname=None, user=None, server_address=None, server_hostname=None,
               server_port=None):
        """The Verdict evaluate() gives for this query (shared between queries: do not modify)."""
        client = Host(address, hostname)
        matcher = Matcher(daemon, client, Host(server_address, server_hostname, server_port), user, self.env)
        keys = self._address_keys.get(client.address)
        if keys is None:
            keys = self._address_keys[client.address] = query_keys(client.address)
        for table_index, view in enumerate(self._views_for(matcher)):
            entries = self.tables[table_index][2]
            client_lists = self._client_lists[table_index]
            for position in view.candidates(keys):
                entry = entries[position]
                if entry.kind == 'broken':
                    # As in evaluate(): an error reading hosts.allow skips to hosts.deny, and
                    # one in hosts.deny denies.
                    if self.tables[table_index][0] == 'deny' or table_index > 0:
                        return self._rule_verdict(table_index, position)
                    break
                if client_lists[position](matcher, keys):
                    return self._rule_verdict(table_index, position)
        return NO_MATCH
