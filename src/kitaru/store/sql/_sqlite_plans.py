"""The SQLite statements of the store, compiled ahead of time. GENERATED: do not edit.

Regenerate with ``python -m kitaru.store.sql._sqlite_compile`` after changing
the schema or a statement; a test fails while this module is stale.
"""

from typing import Any

__all__ = ["PLANS", "VARIANTS"]

#: Fixed statements by attribute name: SQL, bind names, bind defaults,
#: bind and result conversions.
PLANS: dict[str, Any] = {'answer_wait': ('UPDATE calls SET status=?, ended_at=?, output_artifact_id=coalesce(?, '
                 "calls.output_artifact_id), failure=? WHERE calls.call_id = ? AND kind = 'wait' "
                 "AND status = 'running' RETURNING metadata",
                 ('status', 'b_ended_at', 'b_output_id', 'failure', 'b_call_id'),
                 {'failure': None, 'status': 'completed'},
                 ((1, 'timestamp'), (3, 'json')),
                 ((0, 'json'),)),
 'complete_call': ('UPDATE calls SET status=?, ended_at=?, output_artifact_id=?, failure=? WHERE '
                   'calls.call_id = ?',
                   ('b_status', 'b_ended_at', 'b_output_id', 'b_failure', 'b_call_id'),
                   {},
                   ((1, 'timestamp'), (3, 'json')),
                   ()),
 'complete_running_attempts': ('UPDATE attempts SET status=?, ended_at=? WHERE attempts.call_id = '
                               '? AND attempts.status = ?',
                               ('status', 'b_ended_at', 'b_call_id', 'status_1'),
                               {'status': 'completed', 'status_1': 'running'},
                               ((1, 'timestamp'),),
                               ()),
 'copied_metadata': ('SELECT calls.call_id, calls.metadata \n'
                     'FROM calls \n'
                     "WHERE calls.exec_id = ? AND calls.seq < ? AND calls.status IN ('completed', "
                     "'cached') AND calls.metadata != '{}' ORDER BY calls.seq",
                     ('b_source_exec_id', 'b_before_seq'),
                     {},
                     (),
                     ((1, 'json'),)),
 'copy_call_logs': ('INSERT INTO logs (exec_id, call_id, invocation_id, ts, level, source, '
                    'message) SELECT ? AS anon_1, ? AS anon_2, ? AS anon_3, logs.ts, logs.level, '
                    'logs.source, logs.message \n'
                    'FROM logs \n'
                    'WHERE logs.exec_id = ? AND logs.call_id = ? ORDER BY logs.seq',
                    ('b_exec_id',
                     'b_call_id',
                     'b_invocation_id',
                     'b_source_exec_id',
                     'b_source_call_id'),
                    {},
                    (),
                    ()),
 'copy_calls': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, status, '
                'started_at, type, ended_at, cache_key, input_fingerprint, output_artifact_id, '
                'metadata, "after", parent_call_id, failure, attempt_count) SELECT ? || \':\' || '
                'calls.call_id AS anon_1, ? AS anon_2, calls.invocation_id, calls.seq, calls.name, '
                'calls.kind, calls.status, calls.started_at, calls.type, calls.ended_at, '
                'calls.cache_key, calls.input_fingerprint, calls.output_artifact_id, CASE WHEN '
                "(calls.metadata = '{}') THEN CAST(json_object('kitaru', "
                "json_object('replayed_from', json_object('exec_id', calls.exec_id, 'call_id', "
                'calls.call_id))) AS TEXT) ELSE calls.metadata END AS anon_3, calls."after", '
                'calls.parent_call_id, calls.failure, 0 \n'
                'FROM calls \n'
                "WHERE calls.exec_id = ? AND calls.seq < ? AND calls.status IN ('completed', "
                "'cached')",
                ('b_exec_id', 'b_exec_id', 'b_source_exec_id', 'b_before_seq'),
                {},
                (),
                ()),
 'count_calls': ('SELECT count(*) AS count_1 \nFROM calls \nWHERE calls.exec_id = ?',
                 ('b_exec_id',),
                 {},
                 (),
                 ()),
 'end_attempt': ('UPDATE attempts SET status=?, ended_at=?, failure=? WHERE attempts.attempt_id = '
                 '? AND attempts.call_id = ?',
                 ('b_status', 'b_ended_at', 'b_failure', 'b_attempt_id', 'b_call_id'),
                 {},
                 ((1, 'timestamp'), (2, 'json')),
                 ()),
 'exact_call_id': ('SELECT calls.call_id \nFROM calls \nWHERE calls.call_id = ?',
                   ('b_call_id',),
                   {},
                   (),
                   ()),
 'exact_exec_id': ('SELECT executions.exec_id \nFROM executions \nWHERE executions.exec_id = ?',
                   ('b_exec_id',),
                   {},
                   (),
                   ()),
 'fail_call': ('UPDATE calls SET status=?, ended_at=?, failure=? WHERE calls.call_id = ?',
               ('b_status', 'b_ended_at', 'b_failure', 'b_call_id'),
               {},
               ((1, 'timestamp'), (2, 'json')),
               ()),
 'find_cached_call': ('SELECT calls.call_id, calls.exec_id, calls.invocation_id, calls.seq, '
                      'calls.name, calls.kind, calls.status, calls.started_at, calls.type, '
                      'calls.ended_at, calls.cache_key, calls.input_fingerprint, '
                      'calls.output_artifact_id, calls.metadata, calls."after", '
                      'calls.parent_call_id, calls.failure, calls.attempt_count, '
                      'artifacts.artifact_id, artifacts.exec_id AS exec_id_1, artifacts.name AS '
                      'name_1, artifacts.kind AS kind_1, artifacts.serializer, '
                      'artifacts.type_path, artifacts.size, artifacts.sha256, '
                      'artifacts.created_at, artifacts.call_id AS call_id_1, artifacts.data, '
                      'artifacts.blob_key, artifacts.tags, artifacts.metadata AS metadata_1 \n'
                      'FROM calls JOIN artifacts ON artifacts.artifact_id = '
                      'calls.output_artifact_id \n'
                      'WHERE calls.cache_key = ? AND calls.status = ? AND calls.attempt_count > ? '
                      'AND calls.exec_id != ? AND calls.ended_at >= coalesce(?, calls.ended_at) '
                      'ORDER BY calls.ended_at DESC, calls.call_id DESC\n'
                      ' LIMIT ? OFFSET ?',
                      ('b_cache_key',
                       'status_1',
                       'attempt_count_1',
                       'b_exec_id',
                       'b_not_before',
                       'param_1',
                       'param_2'),
                      {'attempt_count_1': 0, 'param_1': 1, 'param_2': 0, 'status_1': 'completed'},
                      ((4, 'timestamp'),),
                      ((7, 'timestamp'),
                       (9, 'timestamp'),
                       (13, 'json'),
                       (14, 'json'),
                       (16, 'json'),
                       (26, 'timestamp'),
                       (30, 'json'),
                       (31, 'json'))),
 'finish_execution': ('UPDATE executions SET status=?, updated_at=?, ended_at=coalesce(?, '
                      'executions.ended_at), failure=?, result_artifact_id=coalesce(?, '
                      'executions.result_artifact_id) WHERE executions.exec_id = ?',
                      ('b_status', 'b_now', 'b_ended_at', 'b_failure', 'b_result_id', 'b_exec_id'),
                      {},
                      ((1, 'timestamp'), (2, 'timestamp'), (3, 'json')),
                      ()),
 'get_artifact': ('SELECT artifacts.artifact_id, artifacts.exec_id, artifacts.name, '
                  'artifacts.kind, artifacts.serializer, artifacts.type_path, artifacts.size, '
                  'artifacts.sha256, artifacts.created_at, artifacts.call_id, artifacts.data, '
                  'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                  'FROM artifacts \n'
                  'WHERE artifacts.artifact_id = ?',
                  ('b_artifact_id',),
                  {},
                  (),
                  ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 'get_execution': ('SELECT executions.exec_id, executions.flow_name, executions.status, '
                   'executions.created_at, executions.updated_at, executions.started_at, '
                   'executions.ended_at, executions.metadata, executions.failure, '
                   'executions.original_exec_id, executions.spec, executions.source, '
                   'executions.inputs_artifact_id, executions.result_artifact_id, '
                   'executions.runner_id, executions.heartbeat_at, executions.run_count, '
                   'executions.cancel_requested \n'
                   'FROM executions \n'
                   'WHERE executions.exec_id = ?',
                   ('b_exec_id',),
                   {},
                   (),
                   ((3, 'timestamp'),
                    (4, 'timestamp'),
                    (5, 'timestamp'),
                    (6, 'timestamp'),
                    (7, 'json'),
                    (8, 'json'),
                    (10, 'json'),
                    (11, 'json'),
                    (15, 'timestamp'),
                    (17, 'bool'))),
 'heartbeat': ('UPDATE executions SET heartbeat_at=? WHERE executions.exec_id = ? AND '
               'executions.runner_id = ? RETURNING exec_id, flow_name, status, created_at, '
               'updated_at, started_at, ended_at, metadata, failure, original_exec_id, spec, '
               'source, inputs_artifact_id, result_artifact_id, runner_id, heartbeat_at, '
               'run_count, cancel_requested',
               ('b_now', 'b_exec_id', 'b_runner_id'),
               {},
               ((0, 'timestamp'),),
               ((3, 'timestamp'),
                (4, 'timestamp'),
                (5, 'timestamp'),
                (6, 'timestamp'),
                (7, 'json'),
                (8, 'json'),
                (10, 'json'),
                (11, 'json'),
                (15, 'timestamp'),
                (17, 'bool'))),
 'insert_artifact': ('INSERT INTO artifacts (artifact_id, exec_id, name, kind, serializer, '
                     'type_path, size, sha256, created_at, call_id, data, blob_key, tags, '
                     'metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                     ('artifact_id',
                      'exec_id',
                      'name',
                      'kind',
                      'serializer',
                      'type_path',
                      'size',
                      'sha256',
                      'created_at',
                      'call_id',
                      'data',
                      'blob_key',
                      'tags',
                      'metadata'),
                     {},
                     ((8, 'timestamp'), (12, 'json'), (13, 'json')),
                     ()),
 'insert_attempt': ('INSERT INTO attempts (attempt_id, call_id, number, status, started_at, '
                    'ended_at, failure) VALUES (?, ?, ?, ?, ?, ?, ?)',
                    ('attempt_id',
                     'call_id',
                     'number',
                     'status',
                     'started_at',
                     'ended_at',
                     'failure'),
                    {},
                    ((4, 'timestamp'), (5, 'timestamp'), (6, 'json')),
                    ()),
 'insert_calls': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, status, '
                  'started_at, type, ended_at, cache_key, input_fingerprint, output_artifact_id, '
                  'metadata, "after", parent_call_id, failure, attempt_count) VALUES (?, ?, ?, ?, '
                  '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                  ('call_id',
                   'exec_id',
                   'invocation_id',
                   'seq',
                   'name',
                   'kind',
                   'status',
                   'started_at',
                   'type',
                   'ended_at',
                   'cache_key',
                   'input_fingerprint',
                   'output_artifact_id',
                   'metadata',
                   'after',
                   'parent_call_id',
                   'failure',
                   'attempt_count'),
                  {},
                  ((7, 'timestamp'), (9, 'timestamp'), (13, 'json'), (14, 'json'), (16, 'json')),
                  ()),
 'insert_execution': ('INSERT INTO executions (exec_id, flow_name, status, created_at, updated_at, '
                      'started_at, ended_at, metadata, failure, original_exec_id, spec, source, '
                      'inputs_artifact_id, result_artifact_id, runner_id, heartbeat_at, run_count, '
                      'cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '
                      '?, ?)',
                      ('exec_id',
                       'flow_name',
                       'status',
                       'created_at',
                       'updated_at',
                       'started_at',
                       'ended_at',
                       'metadata',
                       'failure',
                       'original_exec_id',
                       'spec',
                       'source',
                       'inputs_artifact_id',
                       'result_artifact_id',
                       'runner_id',
                       'heartbeat_at',
                       'run_count',
                       'cancel_requested'),
                      {},
                      ((3, 'timestamp'),
                       (4, 'timestamp'),
                       (5, 'timestamp'),
                       (6, 'timestamp'),
                       (7, 'json'),
                       (8, 'json'),
                       (10, 'json'),
                       (11, 'json'),
                       (15, 'timestamp'),
                       (17, 'bool')),
                      ()),
 'insert_logs': ('INSERT INTO logs (exec_id, call_id, invocation_id, ts, level, source, message) '
                 'VALUES (?, ?, ?, ?, ?, ?, ?)',
                 ('exec_id', 'call_id', 'invocation_id', 'ts', 'level', 'source', 'message'),
                 {},
                 ((3, 'timestamp'),),
                 ()),
 'load_journal': ('SELECT calls.call_id, calls.exec_id, calls.invocation_id, calls.seq, '
                  'calls.name, calls.kind, calls.status, calls.started_at, calls.type, '
                  'calls.ended_at, calls.cache_key, calls.input_fingerprint, '
                  'calls.output_artifact_id, calls.metadata, calls."after", calls.parent_call_id, '
                  'calls.failure, calls.attempt_count, artifacts.artifact_id, artifacts.exec_id AS '
                  'exec_id_1, artifacts.name AS name_1, artifacts.kind AS kind_1, '
                  'artifacts.serializer, artifacts.type_path, artifacts.size, artifacts.sha256, '
                  'artifacts.created_at, artifacts.call_id AS call_id_1, artifacts.data, '
                  'artifacts.blob_key, artifacts.tags, artifacts.metadata AS metadata_1 \n'
                  'FROM calls LEFT OUTER JOIN artifacts ON artifacts.artifact_id = '
                  'calls.output_artifact_id \n'
                  'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id',
                  ('b_exec_id',),
                  {},
                  (),
                  ((7, 'timestamp'),
                   (9, 'timestamp'),
                   (13, 'json'),
                   (14, 'json'),
                   (16, 'json'),
                   (26, 'timestamp'),
                   (30, 'json'),
                   (31, 'json'))),
 'lock_call_metadata': ('SELECT calls.metadata \nFROM calls \nWHERE calls.call_id = ?',
                        ('b_call_id',),
                        {},
                        (),
                        ((0, 'json'),)),
 'lock_execution_metadata': ('SELECT executions.metadata \n'
                             'FROM executions \n'
                             'WHERE executions.exec_id = ?',
                             ('b_exec_id',),
                             {},
                             (),
                             ((0, 'json'),)),
 'pending_waits': ('SELECT calls.call_id, calls.exec_id, calls.invocation_id, calls.seq, '
                   'calls.name, calls.kind, calls.status, calls.started_at, calls.type, '
                   'calls.ended_at, calls.cache_key, calls.input_fingerprint, '
                   'calls.output_artifact_id, calls.metadata, calls."after", calls.parent_call_id, '
                   'calls.failure, calls.attempt_count \n'
                   'FROM calls \n'
                   "WHERE calls.exec_id = ? AND kind = 'wait' AND status = 'running' ORDER BY "
                   'calls.seq, calls.call_id',
                   ('b_exec_id',),
                   {},
                   (),
                   ((7, 'timestamp'), (9, 'timestamp'), (13, 'json'), (14, 'json'), (16, 'json'))),
 'prefix_exec_ids': ('SELECT executions.exec_id \n'
                     'FROM executions \n'
                     "WHERE executions.exec_id LIKE ? ESCAPE '!' AND substr(executions.exec_id, ?, "
                     '?) = ? ORDER BY executions.exec_id\n'
                     ' LIMIT ? OFFSET ?',
                     ('b_pattern', 'substr_1', 'b_length', 'b_prefix', 'param_1', 'param_2'),
                     {'param_1': 21, 'param_2': 0, 'substr_1': 1},
                     (),
                     ()),
 'reenter_wait_call': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, '
                       'status, started_at, type, ended_at, cache_key, input_fingerprint, '
                       'output_artifact_id, metadata, "after", parent_call_id, failure, '
                       'attempt_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '
                       '?) ON CONFLICT (exec_id, invocation_id) DO UPDATE SET seq = excluded.seq, '
                       'name = excluded.name, kind = excluded.kind, status = excluded.status, '
                       'started_at = excluded.started_at, type = excluded.type, ended_at = '
                       'excluded.ended_at, cache_key = excluded.cache_key, input_fingerprint = '
                       'excluded.input_fingerprint, output_artifact_id = '
                       'excluded.output_artifact_id, "after" = excluded."after", parent_call_id = '
                       'excluded.parent_call_id, failure = excluded.failure RETURNING call_id, '
                       'metadata',
                       ('call_id',
                        'exec_id',
                        'invocation_id',
                        'seq',
                        'name',
                        'kind',
                        'status',
                        'started_at',
                        'type',
                        'ended_at',
                        'cache_key',
                        'input_fingerprint',
                        'output_artifact_id',
                        'metadata',
                        'after',
                        'parent_call_id',
                        'failure',
                        'attempt_count'),
                       {},
                       ((7, 'timestamp'),
                        (9, 'timestamp'),
                        (13, 'json'),
                        (14, 'json'),
                        (16, 'json')),
                       ((1, 'json'),)),
 'request_cancel': ('UPDATE executions SET updated_at=?, cancel_requested=? WHERE '
                    'executions.exec_id = ? RETURNING exec_id, flow_name, status, created_at, '
                    'updated_at, started_at, ended_at, metadata, failure, original_exec_id, spec, '
                    'source, inputs_artifact_id, result_artifact_id, runner_id, heartbeat_at, '
                    'run_count, cancel_requested',
                    ('b_now', 'cancel_requested', 'b_exec_id'),
                    {'cancel_requested': True},
                    ((0, 'timestamp'), (1, 'bool')),
                    ((3, 'timestamp'),
                     (4, 'timestamp'),
                     (5, 'timestamp'),
                     (6, 'timestamp'),
                     (7, 'json'),
                     (8, 'json'),
                     (10, 'json'),
                     (11, 'json'),
                     (15, 'timestamp'),
                     (17, 'bool'))),
 'saved_by_call': ('SELECT artifacts.artifact_id, artifacts.exec_id, artifacts.name, '
                   'artifacts.kind, artifacts.serializer, artifacts.type_path, artifacts.size, '
                   'artifacts.sha256, artifacts.created_at, artifacts.call_id, artifacts.data, '
                   'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                   'FROM artifacts \n'
                   'WHERE artifacts.call_id = ? AND artifacts.artifact_id != ? ORDER BY '
                   'artifacts.created_at, artifacts.artifact_id',
                   ('b_call_id', 'b_output_id'),
                   {},
                   (),
                   ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 'set_call_metadata': ('UPDATE calls SET metadata=? WHERE calls.call_id = ?',
                       ('b_metadata', 'b_call_id'),
                       {},
                       ((0, 'json'),),
                       ()),
 'set_execution_metadata': ('UPDATE executions SET updated_at=?, metadata=? WHERE '
                            'executions.exec_id = ?',
                            ('b_now', 'b_metadata', 'b_exec_id'),
                            {},
                            ((0, 'timestamp'), (1, 'json')),
                            ()),
 'start_execution': ('UPDATE executions SET status=?, updated_at=?, '
                     'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                     'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                     'executions.exec_id = ? RETURNING exec_id, flow_name, status, created_at, '
                     'updated_at, started_at, ended_at, metadata, failure, original_exec_id, spec, '
                     'source, inputs_artifact_id, result_artifact_id, runner_id, heartbeat_at, '
                     'run_count, cancel_requested',
                     ('status',
                      'b_now',
                      'b_now',
                      'ended_at',
                      'failure',
                      'b_runner_id',
                      'b_now',
                      'run_count_1',
                      'b_exec_id'),
                     {'ended_at': None, 'failure': None, 'run_count_1': 1, 'status': 'running'},
                     ((1, 'timestamp'),
                      (2, 'timestamp'),
                      (3, 'timestamp'),
                      (4, 'json'),
                      (6, 'timestamp')),
                     ((3, 'timestamp'),
                      (4, 'timestamp'),
                      (5, 'timestamp'),
                      (6, 'timestamp'),
                      (7, 'json'),
                      (8, 'json'),
                      (10, 'json'),
                      (11, 'json'),
                      (15, 'timestamp'),
                      (17, 'bool'))),
 'uncopy_call': ('DELETE FROM calls WHERE calls.exec_id = ? AND calls.invocation_id = ?',
                 ('b_exec_id', 'b_invocation_id'),
                 {},
                 (),
                 ()),
 'upsert_cached_call': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, '
                        'status, started_at, type, ended_at, cache_key, input_fingerprint, '
                        'output_artifact_id, metadata, "after", parent_call_id, failure, '
                        'attempt_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '
                        '?) ON CONFLICT (exec_id, invocation_id) DO UPDATE SET seq = excluded.seq, '
                        'name = excluded.name, kind = excluded.kind, status = excluded.status, '
                        'started_at = excluded.started_at, type = excluded.type, ended_at = '
                        'excluded.ended_at, cache_key = excluded.cache_key, input_fingerprint = '
                        'excluded.input_fingerprint, output_artifact_id = '
                        'excluded.output_artifact_id, "after" = excluded."after", parent_call_id = '
                        'excluded.parent_call_id, failure = excluded.failure RETURNING call_id',
                        ('call_id',
                         'exec_id',
                         'invocation_id',
                         'seq',
                         'name',
                         'kind',
                         'status',
                         'started_at',
                         'type',
                         'ended_at',
                         'cache_key',
                         'input_fingerprint',
                         'output_artifact_id',
                         'metadata',
                         'after',
                         'parent_call_id',
                         'failure',
                         'attempt_count'),
                        {},
                        ((7, 'timestamp'),
                         (9, 'timestamp'),
                         (13, 'json'),
                         (14, 'json'),
                         (16, 'json')),
                        ()),
 'upsert_running_call': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, '
                         'status, started_at, type, ended_at, cache_key, input_fingerprint, '
                         'output_artifact_id, metadata, "after", parent_call_id, failure, '
                         'attempt_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '
                         '?, ?) ON CONFLICT (exec_id, invocation_id) DO UPDATE SET seq = '
                         'excluded.seq, name = excluded.name, kind = excluded.kind, status = '
                         'excluded.status, started_at = excluded.started_at, type = excluded.type, '
                         'ended_at = excluded.ended_at, cache_key = excluded.cache_key, '
                         'input_fingerprint = excluded.input_fingerprint, output_artifact_id = '
                         'excluded.output_artifact_id, "after" = excluded."after", parent_call_id '
                         '= excluded.parent_call_id, failure = excluded.failure, attempt_count = '
                         '(calls.attempt_count + ?) RETURNING call_id',
                         ('call_id',
                          'exec_id',
                          'invocation_id',
                          'seq',
                          'name',
                          'kind',
                          'status',
                          'started_at',
                          'type',
                          'ended_at',
                          'cache_key',
                          'input_fingerprint',
                          'output_artifact_id',
                          'metadata',
                          'after',
                          'parent_call_id',
                          'failure',
                          'attempt_count',
                          'attempt_count_1'),
                         {'attempt_count_1': 1},
                         ((7, 'timestamp'),
                          (9, 'timestamp'),
                          (13, 'json'),
                          (14, 'json'),
                          (16, 'json')),
                         ()),
 'upsert_wait_call': ('INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, '
                      'status, started_at, type, ended_at, cache_key, input_fingerprint, '
                      'output_artifact_id, metadata, "after", parent_call_id, failure, '
                      'attempt_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '
                      '?) ON CONFLICT (exec_id, invocation_id) DO UPDATE SET seq = excluded.seq, '
                      'name = excluded.name, kind = excluded.kind, status = excluded.status, '
                      'started_at = excluded.started_at, type = excluded.type, ended_at = '
                      'excluded.ended_at, cache_key = excluded.cache_key, input_fingerprint = '
                      'excluded.input_fingerprint, output_artifact_id = '
                      'excluded.output_artifact_id, "after" = excluded."after", parent_call_id = '
                      'excluded.parent_call_id, failure = excluded.failure, attempt_count = '
                      '(calls.attempt_count + ?) RETURNING call_id, metadata',
                      ('call_id',
                       'exec_id',
                       'invocation_id',
                       'seq',
                       'name',
                       'kind',
                       'status',
                       'started_at',
                       'type',
                       'ended_at',
                       'cache_key',
                       'input_fingerprint',
                       'output_artifact_id',
                       'metadata',
                       'after',
                       'parent_call_id',
                       'failure',
                       'attempt_count',
                       'attempt_count_1'),
                      {'attempt_count_1': 1},
                      ((7, 'timestamp'),
                       (9, 'timestamp'),
                       (13, 'json'),
                       (14, 'json'),
                       (16, 'json')),
                      ((1, 'json'),))}

#: Statements whose filters vary, by ``(method, *arguments)``.
VARIANTS: dict[tuple[Any, ...], Any] = {('list_executions', False, False, False, False): ('SELECT executions.exec_id, '
                                                   'executions.flow_name, executions.status, '
                                                   'executions.created_at, executions.updated_at, '
                                                   'executions.started_at, executions.ended_at, '
                                                   'executions.metadata, executions.failure, '
                                                   'executions.original_exec_id, executions.spec, '
                                                   'executions.source, '
                                                   'executions.inputs_artifact_id, '
                                                   'executions.result_artifact_id, '
                                                   'executions.runner_id, executions.heartbeat_at, '
                                                   'executions.run_count, '
                                                   'executions.cancel_requested \n'
                                                   'FROM executions ORDER BY executions.created_at '
                                                   'DESC, executions.exec_id DESC',
                                                   (),
                                                   {},
                                                   (),
                                                   ((3, 'timestamp'),
                                                    (4, 'timestamp'),
                                                    (5, 'timestamp'),
                                                    (6, 'timestamp'),
                                                    (7, 'json'),
                                                    (8, 'json'),
                                                    (10, 'json'),
                                                    (11, 'json'),
                                                    (15, 'timestamp'),
                                                    (17, 'bool'))),
 ('list_executions', False, False, False, True): ('SELECT executions.exec_id, '
                                                  'executions.flow_name, executions.status, '
                                                  'executions.created_at, executions.updated_at, '
                                                  'executions.started_at, executions.ended_at, '
                                                  'executions.metadata, executions.failure, '
                                                  'executions.original_exec_id, executions.spec, '
                                                  'executions.source, '
                                                  'executions.inputs_artifact_id, '
                                                  'executions.result_artifact_id, '
                                                  'executions.runner_id, executions.heartbeat_at, '
                                                  'executions.run_count, '
                                                  'executions.cancel_requested \n'
                                                  'FROM executions ORDER BY executions.created_at '
                                                  'DESC, executions.exec_id DESC\n'
                                                  ' LIMIT ? OFFSET ?',
                                                  ('b_limit', 'param_1'),
                                                  {'param_1': 0},
                                                  (),
                                                  ((3, 'timestamp'),
                                                   (4, 'timestamp'),
                                                   (5, 'timestamp'),
                                                   (6, 'timestamp'),
                                                   (7, 'json'),
                                                   (8, 'json'),
                                                   (10, 'json'),
                                                   (11, 'json'),
                                                   (15, 'timestamp'),
                                                   (17, 'bool'))),
 ('list_executions', False, False, True, False): ('SELECT executions.exec_id, '
                                                  'executions.flow_name, executions.status, '
                                                  'executions.created_at, executions.updated_at, '
                                                  'executions.started_at, executions.ended_at, '
                                                  'executions.metadata, executions.failure, '
                                                  'executions.original_exec_id, executions.spec, '
                                                  'executions.source, '
                                                  'executions.inputs_artifact_id, '
                                                  'executions.result_artifact_id, '
                                                  'executions.runner_id, executions.heartbeat_at, '
                                                  'executions.run_count, '
                                                  'executions.cancel_requested \n'
                                                  'FROM executions \n'
                                                  'WHERE executions.created_at >= ? ORDER BY '
                                                  'executions.created_at DESC, executions.exec_id '
                                                  'DESC',
                                                  ('b_since',),
                                                  {},
                                                  ((0, 'timestamp'),),
                                                  ((3, 'timestamp'),
                                                   (4, 'timestamp'),
                                                   (5, 'timestamp'),
                                                   (6, 'timestamp'),
                                                   (7, 'json'),
                                                   (8, 'json'),
                                                   (10, 'json'),
                                                   (11, 'json'),
                                                   (15, 'timestamp'),
                                                   (17, 'bool'))),
 ('list_executions', False, False, True, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.created_at >= ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC\n'
                                                 ' LIMIT ? OFFSET ?',
                                                 ('b_since', 'b_limit', 'param_1'),
                                                 {'param_1': 0},
                                                 ((0, 'timestamp'),),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', False, True, False, False): ('SELECT executions.exec_id, '
                                                  'executions.flow_name, executions.status, '
                                                  'executions.created_at, executions.updated_at, '
                                                  'executions.started_at, executions.ended_at, '
                                                  'executions.metadata, executions.failure, '
                                                  'executions.original_exec_id, executions.spec, '
                                                  'executions.source, '
                                                  'executions.inputs_artifact_id, '
                                                  'executions.result_artifact_id, '
                                                  'executions.runner_id, executions.heartbeat_at, '
                                                  'executions.run_count, '
                                                  'executions.cancel_requested \n'
                                                  'FROM executions \n'
                                                  'WHERE executions.status = ? ORDER BY '
                                                  'executions.created_at DESC, executions.exec_id '
                                                  'DESC',
                                                  ('b_status',),
                                                  {},
                                                  (),
                                                  ((3, 'timestamp'),
                                                   (4, 'timestamp'),
                                                   (5, 'timestamp'),
                                                   (6, 'timestamp'),
                                                   (7, 'json'),
                                                   (8, 'json'),
                                                   (10, 'json'),
                                                   (11, 'json'),
                                                   (15, 'timestamp'),
                                                   (17, 'bool'))),
 ('list_executions', False, True, False, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.status = ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC\n'
                                                 ' LIMIT ? OFFSET ?',
                                                 ('b_status', 'b_limit', 'param_1'),
                                                 {'param_1': 0},
                                                 (),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', False, True, True, False): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.status = ? AND '
                                                 'executions.created_at >= ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC',
                                                 ('b_status', 'b_since'),
                                                 {},
                                                 ((1, 'timestamp'),),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', False, True, True, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                'executions.status, executions.created_at, '
                                                'executions.updated_at, executions.started_at, '
                                                'executions.ended_at, executions.metadata, '
                                                'executions.failure, executions.original_exec_id, '
                                                'executions.spec, executions.source, '
                                                'executions.inputs_artifact_id, '
                                                'executions.result_artifact_id, '
                                                'executions.runner_id, executions.heartbeat_at, '
                                                'executions.run_count, '
                                                'executions.cancel_requested \n'
                                                'FROM executions \n'
                                                'WHERE executions.status = ? AND '
                                                'executions.created_at >= ? ORDER BY '
                                                'executions.created_at DESC, executions.exec_id '
                                                'DESC\n'
                                                ' LIMIT ? OFFSET ?',
                                                ('b_status', 'b_since', 'b_limit', 'param_1'),
                                                {'param_1': 0},
                                                ((1, 'timestamp'),),
                                                ((3, 'timestamp'),
                                                 (4, 'timestamp'),
                                                 (5, 'timestamp'),
                                                 (6, 'timestamp'),
                                                 (7, 'json'),
                                                 (8, 'json'),
                                                 (10, 'json'),
                                                 (11, 'json'),
                                                 (15, 'timestamp'),
                                                 (17, 'bool'))),
 ('list_executions', True, False, False, False): ('SELECT executions.exec_id, '
                                                  'executions.flow_name, executions.status, '
                                                  'executions.created_at, executions.updated_at, '
                                                  'executions.started_at, executions.ended_at, '
                                                  'executions.metadata, executions.failure, '
                                                  'executions.original_exec_id, executions.spec, '
                                                  'executions.source, '
                                                  'executions.inputs_artifact_id, '
                                                  'executions.result_artifact_id, '
                                                  'executions.runner_id, executions.heartbeat_at, '
                                                  'executions.run_count, '
                                                  'executions.cancel_requested \n'
                                                  'FROM executions \n'
                                                  'WHERE executions.flow_name = ? ORDER BY '
                                                  'executions.created_at DESC, executions.exec_id '
                                                  'DESC',
                                                  ('b_flow',),
                                                  {},
                                                  (),
                                                  ((3, 'timestamp'),
                                                   (4, 'timestamp'),
                                                   (5, 'timestamp'),
                                                   (6, 'timestamp'),
                                                   (7, 'json'),
                                                   (8, 'json'),
                                                   (10, 'json'),
                                                   (11, 'json'),
                                                   (15, 'timestamp'),
                                                   (17, 'bool'))),
 ('list_executions', True, False, False, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.flow_name = ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC\n'
                                                 ' LIMIT ? OFFSET ?',
                                                 ('b_flow', 'b_limit', 'param_1'),
                                                 {'param_1': 0},
                                                 (),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', True, False, True, False): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.flow_name = ? AND '
                                                 'executions.created_at >= ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC',
                                                 ('b_flow', 'b_since'),
                                                 {},
                                                 ((1, 'timestamp'),),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', True, False, True, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                'executions.status, executions.created_at, '
                                                'executions.updated_at, executions.started_at, '
                                                'executions.ended_at, executions.metadata, '
                                                'executions.failure, executions.original_exec_id, '
                                                'executions.spec, executions.source, '
                                                'executions.inputs_artifact_id, '
                                                'executions.result_artifact_id, '
                                                'executions.runner_id, executions.heartbeat_at, '
                                                'executions.run_count, '
                                                'executions.cancel_requested \n'
                                                'FROM executions \n'
                                                'WHERE executions.flow_name = ? AND '
                                                'executions.created_at >= ? ORDER BY '
                                                'executions.created_at DESC, executions.exec_id '
                                                'DESC\n'
                                                ' LIMIT ? OFFSET ?',
                                                ('b_flow', 'b_since', 'b_limit', 'param_1'),
                                                {'param_1': 0},
                                                ((1, 'timestamp'),),
                                                ((3, 'timestamp'),
                                                 (4, 'timestamp'),
                                                 (5, 'timestamp'),
                                                 (6, 'timestamp'),
                                                 (7, 'json'),
                                                 (8, 'json'),
                                                 (10, 'json'),
                                                 (11, 'json'),
                                                 (15, 'timestamp'),
                                                 (17, 'bool'))),
 ('list_executions', True, True, False, False): ('SELECT executions.exec_id, executions.flow_name, '
                                                 'executions.status, executions.created_at, '
                                                 'executions.updated_at, executions.started_at, '
                                                 'executions.ended_at, executions.metadata, '
                                                 'executions.failure, executions.original_exec_id, '
                                                 'executions.spec, executions.source, '
                                                 'executions.inputs_artifact_id, '
                                                 'executions.result_artifact_id, '
                                                 'executions.runner_id, executions.heartbeat_at, '
                                                 'executions.run_count, '
                                                 'executions.cancel_requested \n'
                                                 'FROM executions \n'
                                                 'WHERE executions.flow_name = ? AND '
                                                 'executions.status = ? ORDER BY '
                                                 'executions.created_at DESC, executions.exec_id '
                                                 'DESC',
                                                 ('b_flow', 'b_status'),
                                                 {},
                                                 (),
                                                 ((3, 'timestamp'),
                                                  (4, 'timestamp'),
                                                  (5, 'timestamp'),
                                                  (6, 'timestamp'),
                                                  (7, 'json'),
                                                  (8, 'json'),
                                                  (10, 'json'),
                                                  (11, 'json'),
                                                  (15, 'timestamp'),
                                                  (17, 'bool'))),
 ('list_executions', True, True, False, True): ('SELECT executions.exec_id, executions.flow_name, '
                                                'executions.status, executions.created_at, '
                                                'executions.updated_at, executions.started_at, '
                                                'executions.ended_at, executions.metadata, '
                                                'executions.failure, executions.original_exec_id, '
                                                'executions.spec, executions.source, '
                                                'executions.inputs_artifact_id, '
                                                'executions.result_artifact_id, '
                                                'executions.runner_id, executions.heartbeat_at, '
                                                'executions.run_count, '
                                                'executions.cancel_requested \n'
                                                'FROM executions \n'
                                                'WHERE executions.flow_name = ? AND '
                                                'executions.status = ? ORDER BY '
                                                'executions.created_at DESC, executions.exec_id '
                                                'DESC\n'
                                                ' LIMIT ? OFFSET ?',
                                                ('b_flow', 'b_status', 'b_limit', 'param_1'),
                                                {'param_1': 0},
                                                (),
                                                ((3, 'timestamp'),
                                                 (4, 'timestamp'),
                                                 (5, 'timestamp'),
                                                 (6, 'timestamp'),
                                                 (7, 'json'),
                                                 (8, 'json'),
                                                 (10, 'json'),
                                                 (11, 'json'),
                                                 (15, 'timestamp'),
                                                 (17, 'bool'))),
 ('list_executions', True, True, True, False): ('SELECT executions.exec_id, executions.flow_name, '
                                                'executions.status, executions.created_at, '
                                                'executions.updated_at, executions.started_at, '
                                                'executions.ended_at, executions.metadata, '
                                                'executions.failure, executions.original_exec_id, '
                                                'executions.spec, executions.source, '
                                                'executions.inputs_artifact_id, '
                                                'executions.result_artifact_id, '
                                                'executions.runner_id, executions.heartbeat_at, '
                                                'executions.run_count, '
                                                'executions.cancel_requested \n'
                                                'FROM executions \n'
                                                'WHERE executions.flow_name = ? AND '
                                                'executions.status = ? AND executions.created_at '
                                                '>= ? ORDER BY executions.created_at DESC, '
                                                'executions.exec_id DESC',
                                                ('b_flow', 'b_status', 'b_since'),
                                                {},
                                                ((2, 'timestamp'),),
                                                ((3, 'timestamp'),
                                                 (4, 'timestamp'),
                                                 (5, 'timestamp'),
                                                 (6, 'timestamp'),
                                                 (7, 'json'),
                                                 (8, 'json'),
                                                 (10, 'json'),
                                                 (11, 'json'),
                                                 (15, 'timestamp'),
                                                 (17, 'bool'))),
 ('list_executions', True, True, True, True): ('SELECT executions.exec_id, executions.flow_name, '
                                               'executions.status, executions.created_at, '
                                               'executions.updated_at, executions.started_at, '
                                               'executions.ended_at, executions.metadata, '
                                               'executions.failure, executions.original_exec_id, '
                                               'executions.spec, executions.source, '
                                               'executions.inputs_artifact_id, '
                                               'executions.result_artifact_id, '
                                               'executions.runner_id, executions.heartbeat_at, '
                                               'executions.run_count, '
                                               'executions.cancel_requested \n'
                                               'FROM executions \n'
                                               'WHERE executions.flow_name = ? AND '
                                               'executions.status = ? AND executions.created_at >= '
                                               '? ORDER BY executions.created_at DESC, '
                                               'executions.exec_id DESC\n'
                                               ' LIMIT ? OFFSET ?',
                                               ('b_flow',
                                                'b_status',
                                                'b_since',
                                                'b_limit',
                                                'param_1'),
                                               {'param_1': 0},
                                               ((2, 'timestamp'),),
                                               ((3, 'timestamp'),
                                                (4, 'timestamp'),
                                                (5, 'timestamp'),
                                                (6, 'timestamp'),
                                                (7, 'json'),
                                                (8, 'json'),
                                                (10, 'json'),
                                                (11, 'json'),
                                                (15, 'timestamp'),
                                                (17, 'bool'))),
 ('list_artifacts', False, False, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                           'artifacts.name, artifacts.kind, artifacts.serializer, '
                                           'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                           'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                           'artifacts.blob_key, artifacts.tags, '
                                           'artifacts.metadata \n'
                                           'FROM artifacts \n'
                                           'WHERE artifacts.exec_id = ? ORDER BY '
                                           'artifacts.created_at, artifacts.artifact_id',
                                           ('b_exec_id',),
                                           {},
                                           (),
                                           ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', False, False, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                          'artifacts.name, artifacts.kind, artifacts.serializer, '
                                          'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                          'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                          'artifacts.blob_key, artifacts.tags, '
                                          'artifacts.metadata \n'
                                          'FROM artifacts \n'
                                          'WHERE artifacts.exec_id = ? AND artifacts.call_id = ? '
                                          'ORDER BY artifacts.created_at, artifacts.artifact_id',
                                          ('b_exec_id', 'b_call_id'),
                                          {},
                                          (),
                                          ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', False, True, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                          'artifacts.name, artifacts.kind, artifacts.serializer, '
                                          'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                          'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                          'artifacts.blob_key, artifacts.tags, '
                                          'artifacts.metadata \n'
                                          'FROM artifacts \n'
                                          'WHERE artifacts.exec_id = ? AND artifacts.kind = ? '
                                          'ORDER BY artifacts.created_at, artifacts.artifact_id',
                                          ('b_exec_id', 'b_kind'),
                                          {},
                                          (),
                                          ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', False, True, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                         'artifacts.name, artifacts.kind, artifacts.serializer, '
                                         'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                         'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                         'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                         'FROM artifacts \n'
                                         'WHERE artifacts.exec_id = ? AND artifacts.kind = ? AND '
                                         'artifacts.call_id = ? ORDER BY artifacts.created_at, '
                                         'artifacts.artifact_id',
                                         ('b_exec_id', 'b_kind', 'b_call_id'),
                                         {},
                                         (),
                                         ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', True, False, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                          'artifacts.name, artifacts.kind, artifacts.serializer, '
                                          'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                          'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                          'artifacts.blob_key, artifacts.tags, '
                                          'artifacts.metadata \n'
                                          'FROM artifacts \n'
                                          'WHERE artifacts.exec_id = ? AND artifacts.name = ? '
                                          'ORDER BY artifacts.created_at, artifacts.artifact_id',
                                          ('b_exec_id', 'b_name'),
                                          {},
                                          (),
                                          ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', True, False, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                         'artifacts.name, artifacts.kind, artifacts.serializer, '
                                         'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                         'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                         'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                         'FROM artifacts \n'
                                         'WHERE artifacts.exec_id = ? AND artifacts.name = ? AND '
                                         'artifacts.call_id = ? ORDER BY artifacts.created_at, '
                                         'artifacts.artifact_id',
                                         ('b_exec_id', 'b_name', 'b_call_id'),
                                         {},
                                         (),
                                         ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', True, True, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                         'artifacts.name, artifacts.kind, artifacts.serializer, '
                                         'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                         'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                         'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                         'FROM artifacts \n'
                                         'WHERE artifacts.exec_id = ? AND artifacts.name = ? AND '
                                         'artifacts.kind = ? ORDER BY artifacts.created_at, '
                                         'artifacts.artifact_id',
                                         ('b_exec_id', 'b_name', 'b_kind'),
                                         {},
                                         (),
                                         ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('list_artifacts', True, True, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                        'artifacts.name, artifacts.kind, artifacts.serializer, '
                                        'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                        'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                        'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                        'FROM artifacts \n'
                                        'WHERE artifacts.exec_id = ? AND artifacts.name = ? AND '
                                        'artifacts.kind = ? AND artifacts.call_id = ? ORDER BY '
                                        'artifacts.created_at, artifacts.artifact_id',
                                        ('b_exec_id', 'b_name', 'b_kind', 'b_call_id'),
                                        {},
                                        (),
                                        ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('claim_execution', 1): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('claim_execution', 2): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?, ?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_1',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('claim_execution', 3): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?, ?, ?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_1',
                           'b_expected_2',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('claim_execution', 4): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?, ?, ?, ?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_1',
                           'b_expected_2',
                           'b_expected_3',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('claim_execution', 5): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?, ?, ?, ?, ?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_1',
                           'b_expected_2',
                           'b_expected_3',
                           'b_expected_4',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('claim_execution', 6): ('UPDATE executions SET status=?, updated_at=?, '
                          'started_at=coalesce(executions.started_at, ?), ended_at=?, failure=?, '
                          'runner_id=?, heartbeat_at=?, run_count=(executions.run_count + ?) WHERE '
                          'executions.exec_id = ? AND executions.status IN (?, ?, ?, ?, ?, ?) AND '
                          'executions.runner_id IS ? RETURNING exec_id, flow_name, status, '
                          'created_at, updated_at, started_at, ended_at, metadata, failure, '
                          'original_exec_id, spec, source, inputs_artifact_id, result_artifact_id, '
                          'runner_id, heartbeat_at, run_count, cancel_requested',
                          ('status',
                           'b_now',
                           'b_now',
                           'ended_at',
                           'failure',
                           'b_runner_id',
                           'b_now',
                           'run_count_1',
                           'b_exec_id',
                           'b_expected_0',
                           'b_expected_1',
                           'b_expected_2',
                           'b_expected_3',
                           'b_expected_4',
                           'b_expected_5',
                           'b_expected_runner'),
                          {'status': 'running',
                           'ended_at': None,
                           'failure': None,
                           'run_count_1': 1},
                          ((1, 'timestamp'),
                           (2, 'timestamp'),
                           (3, 'timestamp'),
                           (4, 'json'),
                           (6, 'timestamp')),
                          ((3, 'timestamp'),
                           (4, 'timestamp'),
                           (5, 'timestamp'),
                           (6, 'timestamp'),
                           (7, 'json'),
                           (8, 'json'),
                           (10, 'json'),
                           (11, 'json'),
                           (15, 'timestamp'),
                           (17, 'bool'))),
 ('set_execution_status', None, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                                'ended_at=coalesce(?, executions.ended_at) WHERE '
                                                'executions.exec_id = ?',
                                                ('b_status', 'b_now', 'b_ended_at', 'b_exec_id'),
                                                {},
                                                ((1, 'timestamp'), (2, 'timestamp')),
                                                ()),
 ('set_execution_status', None, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                               'ended_at=coalesce(?, executions.ended_at), '
                                               'runner_id=? WHERE executions.exec_id = ?',
                                               ('b_status',
                                                'b_now',
                                                'b_ended_at',
                                                'runner_id',
                                                'b_exec_id'),
                                               {'runner_id': None},
                                               ((1, 'timestamp'), (2, 'timestamp')),
                                               ()),
 ('set_execution_status', None, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                               'ended_at=coalesce(?, executions.ended_at) WHERE '
                                               'executions.exec_id = ? AND executions.runner_id = '
                                               '?',
                                               ('b_status',
                                                'b_now',
                                                'b_ended_at',
                                                'b_exec_id',
                                                'b_runner_id'),
                                               {},
                                               ((1, 'timestamp'), (2, 'timestamp')),
                                               ()),
 ('set_execution_status', None, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                              'ended_at=coalesce(?, executions.ended_at), '
                                              'runner_id=? WHERE executions.exec_id = ? AND '
                                              'executions.runner_id = ?',
                                              ('b_status',
                                               'b_now',
                                               'b_ended_at',
                                               'runner_id',
                                               'b_exec_id',
                                               'b_runner_id'),
                                              {'runner_id': None},
                                              ((1, 'timestamp'), (2, 'timestamp')),
                                              ()),
 ('set_execution_status', 1, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 1, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 1, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?) '
                                            'AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 1, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('set_execution_status', 2, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?, '
                                             '?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0',
                                              'b_expected_1'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 2, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?, ?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 2, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?, '
                                            '?) AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 2, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?, ?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_expected_1',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('set_execution_status', 3, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?, '
                                             '?, ?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0',
                                              'b_expected_1',
                                              'b_expected_2'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 3, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?, ?, ?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 3, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?, '
                                            '?, ?) AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 3, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?, ?, ?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_expected_1',
                                            'b_expected_2',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('set_execution_status', 4, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?, '
                                             '?, ?, ?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0',
                                              'b_expected_1',
                                              'b_expected_2',
                                              'b_expected_3'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 4, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?, ?, ?, ?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 4, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?, '
                                            '?, ?, ?) AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 4, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?, ?, ?, ?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_expected_1',
                                            'b_expected_2',
                                            'b_expected_3',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('set_execution_status', 5, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?, '
                                             '?, ?, ?, ?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0',
                                              'b_expected_1',
                                              'b_expected_2',
                                              'b_expected_3',
                                              'b_expected_4'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 5, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?, ?, ?, ?, ?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3',
                                             'b_expected_4'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 5, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?, '
                                            '?, ?, ?, ?) AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3',
                                             'b_expected_4',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 5, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?, ?, ?, ?, ?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_expected_1',
                                            'b_expected_2',
                                            'b_expected_3',
                                            'b_expected_4',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('set_execution_status', 6, False, False): ('UPDATE executions SET status=?, updated_at=?, '
                                             'ended_at=coalesce(?, executions.ended_at) WHERE '
                                             'executions.exec_id = ? AND executions.status IN (?, '
                                             '?, ?, ?, ?, ?)',
                                             ('b_status',
                                              'b_now',
                                              'b_ended_at',
                                              'b_exec_id',
                                              'b_expected_0',
                                              'b_expected_1',
                                              'b_expected_2',
                                              'b_expected_3',
                                              'b_expected_4',
                                              'b_expected_5'),
                                             {},
                                             ((1, 'timestamp'), (2, 'timestamp')),
                                             ()),
 ('set_execution_status', 6, False, True): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at), '
                                            'runner_id=? WHERE executions.exec_id = ? AND '
                                            'executions.status IN (?, ?, ?, ?, ?, ?)',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'runner_id',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3',
                                             'b_expected_4',
                                             'b_expected_5'),
                                            {'runner_id': None},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 6, True, False): ('UPDATE executions SET status=?, updated_at=?, '
                                            'ended_at=coalesce(?, executions.ended_at) WHERE '
                                            'executions.exec_id = ? AND executions.status IN (?, '
                                            '?, ?, ?, ?, ?) AND executions.runner_id = ?',
                                            ('b_status',
                                             'b_now',
                                             'b_ended_at',
                                             'b_exec_id',
                                             'b_expected_0',
                                             'b_expected_1',
                                             'b_expected_2',
                                             'b_expected_3',
                                             'b_expected_4',
                                             'b_expected_5',
                                             'b_runner_id'),
                                            {},
                                            ((1, 'timestamp'), (2, 'timestamp')),
                                            ()),
 ('set_execution_status', 6, True, True): ('UPDATE executions SET status=?, updated_at=?, '
                                           'ended_at=coalesce(?, executions.ended_at), runner_id=? '
                                           'WHERE executions.exec_id = ? AND executions.status IN '
                                           '(?, ?, ?, ?, ?, ?) AND executions.runner_id = ?',
                                           ('b_status',
                                            'b_now',
                                            'b_ended_at',
                                            'runner_id',
                                            'b_exec_id',
                                            'b_expected_0',
                                            'b_expected_1',
                                            'b_expected_2',
                                            'b_expected_3',
                                            'b_expected_4',
                                            'b_expected_5',
                                            'b_runner_id'),
                                           {'runner_id': None},
                                           ((1, 'timestamp'), (2, 'timestamp')),
                                           ()),
 ('list_logs', False, False, False): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                      'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                      'FROM logs \n'
                                      'WHERE logs.exec_id = ? ORDER BY logs.seq',
                                      ('b_exec_id',),
                                      {},
                                      (),
                                      ((1, 'timestamp'),)),
 ('list_logs', False, False, True): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                     'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                     'FROM logs \n'
                                     'WHERE logs.exec_id = ? ORDER BY logs.seq\n'
                                     ' LIMIT ? OFFSET ?',
                                     ('b_exec_id', 'b_limit', 'param_1'),
                                     {'param_1': 0},
                                     (),
                                     ((1, 'timestamp'),)),
 ('list_logs', False, True, False): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                     'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                     'FROM logs \n'
                                     'WHERE logs.exec_id = ? AND logs.seq > ? ORDER BY logs.seq',
                                     ('b_exec_id', 'b_after_seq'),
                                     {},
                                     (),
                                     ((1, 'timestamp'),)),
 ('list_logs', False, True, True): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                    'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                    'FROM logs \n'
                                    'WHERE logs.exec_id = ? AND logs.seq > ? ORDER BY logs.seq\n'
                                    ' LIMIT ? OFFSET ?',
                                    ('b_exec_id', 'b_after_seq', 'b_limit', 'param_1'),
                                    {'param_1': 0},
                                    (),
                                    ((1, 'timestamp'),)),
 ('list_logs', True, False, False): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                     'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                     'FROM logs \n'
                                     'WHERE logs.exec_id = ? AND logs.call_id = ? ORDER BY '
                                     'logs.seq',
                                     ('b_exec_id', 'b_call_id'),
                                     {},
                                     (),
                                     ((1, 'timestamp'),)),
 ('list_logs', True, False, True): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                    'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                    'FROM logs \n'
                                    'WHERE logs.exec_id = ? AND logs.call_id = ? ORDER BY '
                                    'logs.seq\n'
                                    ' LIMIT ? OFFSET ?',
                                    ('b_exec_id', 'b_call_id', 'b_limit', 'param_1'),
                                    {'param_1': 0},
                                    (),
                                    ((1, 'timestamp'),)),
 ('list_logs', True, True, False): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                    'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                    'FROM logs \n'
                                    'WHERE logs.exec_id = ? AND logs.call_id = ? AND logs.seq > ? '
                                    'ORDER BY logs.seq',
                                    ('b_exec_id', 'b_call_id', 'b_after_seq'),
                                    {},
                                    (),
                                    ((1, 'timestamp'),)),
 ('list_logs', True, True, True): ('SELECT logs.exec_id, logs.ts, logs.message, logs.level, '
                                   'logs.source, logs.call_id, logs.invocation_id, logs.seq \n'
                                   'FROM logs \n'
                                   'WHERE logs.exec_id = ? AND logs.call_id = ? AND logs.seq > ? '
                                   'ORDER BY logs.seq\n'
                                   ' LIMIT ? OFFSET ?',
                                   ('b_exec_id', 'b_call_id', 'b_after_seq', 'b_limit', 'param_1'),
                                   {'param_1': 0},
                                   (),
                                   ((1, 'timestamp'),)),
 ('list_calls', False, False): ('SELECT page.call_id, page.exec_id, page.invocation_id, page.seq, '
                                'page.name, page.kind, page.status, page.started_at, page.type, '
                                'page.ended_at, page.cache_key, page.input_fingerprint, '
                                'page.output_artifact_id, page.metadata, page."after", '
                                'page.parent_call_id, page.failure, page.attempt_count, '
                                'attempts.attempt_id, attempts.call_id AS call_id_1, '
                                'attempts.number, attempts.status AS status_1, attempts.started_at '
                                'AS started_at_1, attempts.ended_at AS ended_at_1, '
                                'attempts.failure AS failure_1, output.artifact_id, output.exec_id '
                                'AS exec_id_1, output.name AS name_1, output.kind AS kind_1, '
                                'output.serializer, output.type_path, output.size, output.sha256, '
                                'output.created_at, output.call_id AS call_id_2, NULL AS '
                                'output_data, output.blob_key, output.tags, output.metadata AS '
                                'metadata_1 \n'
                                'FROM (SELECT calls.call_id AS call_id, calls.exec_id AS exec_id, '
                                'calls.invocation_id AS invocation_id, calls.seq AS seq, '
                                'calls.name AS name, calls.kind AS kind, calls.status AS status, '
                                'calls.started_at AS started_at, calls.type AS type, '
                                'calls.ended_at AS ended_at, calls.cache_key AS cache_key, '
                                'calls.input_fingerprint AS input_fingerprint, '
                                'calls.output_artifact_id AS output_artifact_id, calls.metadata AS '
                                'metadata, calls."after" AS "after", calls.parent_call_id AS '
                                'parent_call_id, calls.failure AS failure, calls.attempt_count AS '
                                'attempt_count \n'
                                'FROM calls \n'
                                'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id) AS '
                                'page LEFT OUTER JOIN attempts ON attempts.call_id = page.call_id '
                                'LEFT OUTER JOIN artifacts AS output ON output.artifact_id = '
                                'page.output_artifact_id AND output.exec_id != page.exec_id ORDER '
                                'BY page.seq, page.call_id, attempts.number, attempts.attempt_id',
                                ('b_exec_id',),
                                {},
                                (),
                                ((7, 'timestamp'),
                                 (9, 'timestamp'),
                                 (13, 'json'),
                                 (14, 'json'),
                                 (16, 'json'),
                                 (22, 'timestamp'),
                                 (23, 'timestamp'),
                                 (24, 'json'),
                                 (33, 'timestamp'),
                                 (37, 'json'),
                                 (38, 'json'))),
 ('list_calls', False, True): ('SELECT page.call_id, page.exec_id, page.invocation_id, page.seq, '
                               'page.name, page.kind, page.status, page.started_at, page.type, '
                               'page.ended_at, page.cache_key, page.input_fingerprint, '
                               'page.output_artifact_id, page.metadata, page."after", '
                               'page.parent_call_id, page.failure, page.attempt_count, '
                               'attempts.attempt_id, attempts.call_id AS call_id_1, '
                               'attempts.number, attempts.status AS status_1, attempts.started_at '
                               'AS started_at_1, attempts.ended_at AS ended_at_1, attempts.failure '
                               'AS failure_1, output.artifact_id, output.exec_id AS exec_id_1, '
                               'output.name AS name_1, output.kind AS kind_1, output.serializer, '
                               'output.type_path, output.size, output.sha256, output.created_at, '
                               'output.call_id AS call_id_2, NULL AS output_data, output.blob_key, '
                               'output.tags, output.metadata AS metadata_1 \n'
                               'FROM (SELECT calls.call_id AS call_id, calls.exec_id AS exec_id, '
                               'calls.invocation_id AS invocation_id, calls.seq AS seq, calls.name '
                               'AS name, calls.kind AS kind, calls.status AS status, '
                               'calls.started_at AS started_at, calls.type AS type, calls.ended_at '
                               'AS ended_at, calls.cache_key AS cache_key, calls.input_fingerprint '
                               'AS input_fingerprint, calls.output_artifact_id AS '
                               'output_artifact_id, calls.metadata AS metadata, calls."after" AS '
                               '"after", calls.parent_call_id AS parent_call_id, calls.failure AS '
                               'failure, calls.attempt_count AS attempt_count \n'
                               'FROM calls \n'
                               'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id\n'
                               ' LIMIT ? OFFSET ?) AS page LEFT OUTER JOIN attempts ON '
                               'attempts.call_id = page.call_id LEFT OUTER JOIN artifacts AS '
                               'output ON output.artifact_id = page.output_artifact_id AND '
                               'output.exec_id != page.exec_id ORDER BY page.seq, page.call_id, '
                               'attempts.number, attempts.attempt_id',
                               ('b_exec_id', 'param_1', 'b_offset'),
                               {'param_1': -1},
                               (),
                               ((7, 'timestamp'),
                                (9, 'timestamp'),
                                (13, 'json'),
                                (14, 'json'),
                                (16, 'json'),
                                (22, 'timestamp'),
                                (23, 'timestamp'),
                                (24, 'json'),
                                (33, 'timestamp'),
                                (37, 'json'),
                                (38, 'json'))),
 ('list_calls', True, False): ('SELECT page.call_id, page.exec_id, page.invocation_id, page.seq, '
                               'page.name, page.kind, page.status, page.started_at, page.type, '
                               'page.ended_at, page.cache_key, page.input_fingerprint, '
                               'page.output_artifact_id, page.metadata, page."after", '
                               'page.parent_call_id, page.failure, page.attempt_count, '
                               'attempts.attempt_id, attempts.call_id AS call_id_1, '
                               'attempts.number, attempts.status AS status_1, attempts.started_at '
                               'AS started_at_1, attempts.ended_at AS ended_at_1, attempts.failure '
                               'AS failure_1, output.artifact_id, output.exec_id AS exec_id_1, '
                               'output.name AS name_1, output.kind AS kind_1, output.serializer, '
                               'output.type_path, output.size, output.sha256, output.created_at, '
                               'output.call_id AS call_id_2, NULL AS output_data, output.blob_key, '
                               'output.tags, output.metadata AS metadata_1 \n'
                               'FROM (SELECT calls.call_id AS call_id, calls.exec_id AS exec_id, '
                               'calls.invocation_id AS invocation_id, calls.seq AS seq, calls.name '
                               'AS name, calls.kind AS kind, calls.status AS status, '
                               'calls.started_at AS started_at, calls.type AS type, calls.ended_at '
                               'AS ended_at, calls.cache_key AS cache_key, calls.input_fingerprint '
                               'AS input_fingerprint, calls.output_artifact_id AS '
                               'output_artifact_id, calls.metadata AS metadata, calls."after" AS '
                               '"after", calls.parent_call_id AS parent_call_id, calls.failure AS '
                               'failure, calls.attempt_count AS attempt_count \n'
                               'FROM calls \n'
                               'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id\n'
                               ' LIMIT ? OFFSET ?) AS page LEFT OUTER JOIN attempts ON '
                               'attempts.call_id = page.call_id LEFT OUTER JOIN artifacts AS '
                               'output ON output.artifact_id = page.output_artifact_id AND '
                               'output.exec_id != page.exec_id ORDER BY page.seq, page.call_id, '
                               'attempts.number, attempts.attempt_id',
                               ('b_exec_id', 'b_limit', 'param_1'),
                               {'param_1': 0},
                               (),
                               ((7, 'timestamp'),
                                (9, 'timestamp'),
                                (13, 'json'),
                                (14, 'json'),
                                (16, 'json'),
                                (22, 'timestamp'),
                                (23, 'timestamp'),
                                (24, 'json'),
                                (33, 'timestamp'),
                                (37, 'json'),
                                (38, 'json'))),
 ('list_calls', True, True): ('SELECT page.call_id, page.exec_id, page.invocation_id, page.seq, '
                              'page.name, page.kind, page.status, page.started_at, page.type, '
                              'page.ended_at, page.cache_key, page.input_fingerprint, '
                              'page.output_artifact_id, page.metadata, page."after", '
                              'page.parent_call_id, page.failure, page.attempt_count, '
                              'attempts.attempt_id, attempts.call_id AS call_id_1, '
                              'attempts.number, attempts.status AS status_1, attempts.started_at '
                              'AS started_at_1, attempts.ended_at AS ended_at_1, attempts.failure '
                              'AS failure_1, output.artifact_id, output.exec_id AS exec_id_1, '
                              'output.name AS name_1, output.kind AS kind_1, output.serializer, '
                              'output.type_path, output.size, output.sha256, output.created_at, '
                              'output.call_id AS call_id_2, NULL AS output_data, output.blob_key, '
                              'output.tags, output.metadata AS metadata_1 \n'
                              'FROM (SELECT calls.call_id AS call_id, calls.exec_id AS exec_id, '
                              'calls.invocation_id AS invocation_id, calls.seq AS seq, calls.name '
                              'AS name, calls.kind AS kind, calls.status AS status, '
                              'calls.started_at AS started_at, calls.type AS type, calls.ended_at '
                              'AS ended_at, calls.cache_key AS cache_key, calls.input_fingerprint '
                              'AS input_fingerprint, calls.output_artifact_id AS '
                              'output_artifact_id, calls.metadata AS metadata, calls."after" AS '
                              '"after", calls.parent_call_id AS parent_call_id, calls.failure AS '
                              'failure, calls.attempt_count AS attempt_count \n'
                              'FROM calls \n'
                              'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id\n'
                              ' LIMIT ? OFFSET ?) AS page LEFT OUTER JOIN attempts ON '
                              'attempts.call_id = page.call_id LEFT OUTER JOIN artifacts AS output '
                              'ON output.artifact_id = page.output_artifact_id AND output.exec_id '
                              '!= page.exec_id ORDER BY page.seq, page.call_id, attempts.number, '
                              'attempts.attempt_id',
                              ('b_exec_id', 'b_limit', 'b_offset'),
                              {},
                              (),
                              ((7, 'timestamp'),
                               (9, 'timestamp'),
                               (13, 'json'),
                               (14, 'json'),
                               (16, 'json'),
                               (22, 'timestamp'),
                               (23, 'timestamp'),
                               (24, 'json'),
                               (33, 'timestamp'),
                               (37, 'json'),
                               (38, 'json'))),
 ('call_page_artifacts', False, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                         'artifacts.name, artifacts.kind, artifacts.serializer, '
                                         'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                         'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                         'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                         'FROM artifacts \n'
                                         'WHERE artifacts.exec_id = ? AND artifacts.call_id IN '
                                         '(SELECT calls.call_id \n'
                                         'FROM calls \n'
                                         'WHERE calls.exec_id = ? ORDER BY calls.seq, '
                                         'calls.call_id) ORDER BY artifacts.created_at, '
                                         'artifacts.artifact_id',
                                         ('b_exec_id', 'b_exec_id'),
                                         {},
                                         (),
                                         ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('call_page_artifacts', False, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                        'artifacts.name, artifacts.kind, artifacts.serializer, '
                                        'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                        'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                        'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                        'FROM artifacts \n'
                                        'WHERE artifacts.exec_id = ? AND artifacts.call_id IN '
                                        '(SELECT calls.call_id \n'
                                        'FROM calls \n'
                                        'WHERE calls.exec_id = ? ORDER BY calls.seq, '
                                        'calls.call_id\n'
                                        ' LIMIT ? OFFSET ?) ORDER BY artifacts.created_at, '
                                        'artifacts.artifact_id',
                                        ('b_exec_id', 'b_exec_id', 'param_1', 'b_offset'),
                                        {'param_1': -1},
                                        (),
                                        ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('call_page_artifacts', True, False): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                        'artifacts.name, artifacts.kind, artifacts.serializer, '
                                        'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                        'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                        'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                        'FROM artifacts \n'
                                        'WHERE artifacts.exec_id = ? AND artifacts.call_id IN '
                                        '(SELECT calls.call_id \n'
                                        'FROM calls \n'
                                        'WHERE calls.exec_id = ? ORDER BY calls.seq, '
                                        'calls.call_id\n'
                                        ' LIMIT ? OFFSET ?) ORDER BY artifacts.created_at, '
                                        'artifacts.artifact_id',
                                        ('b_exec_id', 'b_exec_id', 'b_limit', 'param_1'),
                                        {'param_1': 0},
                                        (),
                                        ((8, 'timestamp'), (12, 'json'), (13, 'json'))),
 ('call_page_artifacts', True, True): ('SELECT artifacts.artifact_id, artifacts.exec_id, '
                                       'artifacts.name, artifacts.kind, artifacts.serializer, '
                                       'artifacts.type_path, artifacts.size, artifacts.sha256, '
                                       'artifacts.created_at, artifacts.call_id, NULL AS data, '
                                       'artifacts.blob_key, artifacts.tags, artifacts.metadata \n'
                                       'FROM artifacts \n'
                                       'WHERE artifacts.exec_id = ? AND artifacts.call_id IN '
                                       '(SELECT calls.call_id \n'
                                       'FROM calls \n'
                                       'WHERE calls.exec_id = ? ORDER BY calls.seq, calls.call_id\n'
                                       ' LIMIT ? OFFSET ?) ORDER BY artifacts.created_at, '
                                       'artifacts.artifact_id',
                                       ('b_exec_id', 'b_exec_id', 'b_limit', 'b_offset'),
                                       {},
                                       (),
                                       ((8, 'timestamp'), (12, 'json'), (13, 'json')))}
