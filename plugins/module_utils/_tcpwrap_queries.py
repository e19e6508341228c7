# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""What tcpwrap_info is asked: the queries, checked here, and their answers.

tcpwrap_info takes `queries` as a list of dicts without per-element suboptions (Ansible's
validation of each element cost more than deciding it); check_queries() refuses what that
validation refused, naming the element and key. verdicts() answers each query with the dict
RETURN documents; access_matrix() answers the compact form, every daemon against every address.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError

QUERY_KEYS = ('daemon', 'address', 'hostname', 'user', 'server_address', 'server_hostname', 'server_port')
_KNOWN = frozenset(QUERY_KEYS)


def _text(value, field):
    """A string, or a number written as one (as Ansible's type str converts it)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TcpwrapError(f'{field}: must be a string, got {type(value).__name__}')


def _port(value, field):
    """A TCP port: an int, or its decimal text, from 0 to 65535."""
    if isinstance(value, str) and value.isdigit() and value.isascii():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise TcpwrapError(f'{field}: must be a port number from 0 to 65535, got {value!r}')
    return value


def check_queries(queries):
    """The queries as dicts of the keys given (null means not given); TcpwrapError names a bad one."""
    checked = []
    for index, query in enumerate(queries):
        if not isinstance(query, dict):
            raise TcpwrapError(f'queries[{index}]: must be a dict with at least "daemon"')
        unknown = sorted(str(key) for key in query if key not in _KNOWN)
        if unknown:
            raise TcpwrapError(f'queries[{index}]: unsupported key "{unknown[0]}"; '
                               f'supported keys are {", ".join(QUERY_KEYS)}')
        if query.get('daemon') is None:
            raise TcpwrapError(f'queries[{index}]: "daemon" is required')
        checked.append({key: (_port if key == 'server_port' else _text)(value, f'queries[{index}].{key}')
                        for key, value in query.items() if value is not None})
    return checked


def verdicts(policy, queries):
    """One verdict dict per checked query, in order, each with the query as given."""
    answers = []
    shaped = {}         # a Verdict is shared by every query its rule decides: shape it once
    for query in queries:
        verdict = policy.decide(query['daemon'], query.get('address'), query.get('hostname'), query.get('user'),
                                query.get('server_address'), query.get('server_hostname'), query.get('server_port'))
        answer = shaped.get(id(verdict))
        if answer is None:
            answer = shaped[id(verdict)] = verdict.as_dict()
        answer = dict(answer)
        answer['query'] = query
        answers.append(answer)
    return answers


def access_matrix(policy, daemons, addresses):
    """{daemon: {address: 'granted' or 'denied'}} for every daemon and address."""
    return {daemon: {address: policy.decide(daemon, address).access for address in addresses}
            for daemon in daemons}
