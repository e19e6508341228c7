# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of serversec.confine.host_files: reads each entry's ``src`` on the controller
and hands the module its text as ``content``, so that every file costs no module run of its own."""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        files = args.get('files')
        if isinstance(files, list):
            try:
                args['files'] = [self._read_src(index, entry) for index, entry in enumerate(files)]
            except AnsibleError as exc:
                result.update(failed=True, msg=to_native(exc))
                return result
        result.update(self._execute_module(module_name='serversec.confine.host_files', module_args=args,
                                           task_vars=task_vars))
        return result

    def _read_src(self, index, entry):
        """The entry with the text of its controller-side ``src`` as ``content``."""
        if not isinstance(entry, dict) or entry.get('src') is None:
            return entry
        where = f'files[{index}]'
        if entry.get('content') is not None:
            raise AnsibleError(f'{where}: give content or src, not both')
        try:
            source = self._find_needle('files', to_text(entry['src']))
        except AnsibleError as exc:
            raise AnsibleError(f'{where}.src: {to_native(exc)}') from None
        real = self._loader.get_real_file(source, decrypt=True)
        try:
            with open(real, 'rb') as handle:
                data = handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            raise AnsibleError(f'{where}.src {source} is not UTF-8 text; host_files writes text files '
                               '(use ansible.builtin.copy for binary ones)') from None
        resolved = {key: value for key, value in entry.items() if key != 'src'}
        resolved['content'] = text
        return resolved
