// Entry of the test parent bundle: `enclavekit parent` plus POST /v1/test/secret-mac.
import { run } from '../../../cli/commands/parent.js';
import { InputError } from '../../../shared/errors.js';
import { SECRET_MAC_OP, secretMacInput } from './handler.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [command, ...args] = process.argv.slice(2);
if (command !== 'parent') {
  process.stderr.write('usage: parent-entry parent --config FILE [--url-file FILE]\n');
  process.exit(2);
}
process.exitCode = await run(args, (gateway) => [
  {
    method: 'POST',
    path: '/v1/test/secret-mac',
    auth: true,
    handle: async ({ body, signal }) => {
      const parsed = secretMacInput.safeParse(body);
      if (!parsed.success) throw new InputError('ERR_BAD_REQUEST', 'invalid body');
      return { body: await gateway.call(SECRET_MAC_OP, parsed.data, { signal, deadlineMs: 30_000 }) };
    },
  },
]);
