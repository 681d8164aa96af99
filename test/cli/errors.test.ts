import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import {
  API_ERROR_CODES,
  ApiError,
  errorCodeOf,
  ERROR_CODE_METADATA_KEY,
  exitCodeFor,
  serviceError,
  UsageError,
} from '../../src/api/errors.js';
import { DurationError } from '../../src/config/duration.js';

void t.test('exit codes follow the contract: 4 not found, 2 invalid, 3 unreachable, 1 otherwise', async (t) => {
  const expected: Record<string, number> = { NOT_FOUND: 4, UNKNOWN_NODE: 4, INVALID_ARGUMENT: 2 };
  for (const code of API_ERROR_CODES) {
    t.equal(exitCodeFor(new ApiError(code, 'x')), expected[code] ?? 1, code);
  }
  t.equal(exitCodeFor(new ApiError('UNREACHABLE', 'x')), 3);
  t.equal(exitCodeFor(new UsageError('bad flag')), 2);
  t.equal(exitCodeFor(new DurationError('5x', 'unknown unit')), 2);
  t.equal(exitCodeFor(new Error('boom')), 1);
  t.equal(exitCodeFor('not even an error'), 1);
});

void t.test('serviceError carries the code in the error-code metadata that errorCodeOf reads back', async (t) => {
  const status = serviceError('CAS_FAILED', 'revision 3, expected 2');
  t.equal(status.code, grpc.status.FAILED_PRECONDITION);
  t.equal(status.details, 'revision 3, expected 2');
  t.equal(ERROR_CODE_METADATA_KEY, 'error-code');
  t.equal(errorCodeOf(status.metadata), 'CAS_FAILED');
});

void t.test('errorCodeOf ignores missing and unknown codes', async (t) => {
  t.equal(errorCodeOf(undefined), null);
  t.equal(errorCodeOf(new grpc.Metadata()), null);
  const odd = new grpc.Metadata();
  odd.set(ERROR_CODE_METADATA_KEY, 'SOMETHING_ELSE');
  t.equal(errorCodeOf(odd), null);
});

void t.test('an UNREACHABLE ApiError reports the gRPC status UNAVAILABLE', async (t) => {
  const err = new ApiError('UNREACHABLE', 'no endpoint answered');
  t.equal(err.grpcCode, grpc.status.UNAVAILABLE);
  t.equal(err.name, 'ApiError');
  t.equal(new ApiError('NOT_FOUND', 'k').grpcCode, grpc.status.NOT_FOUND);
});
