// `npm run token -- --customer acme [--name "Acme Inc"] [--admin] [--expires-in 3600]`: prints a
// dev JWT the local gateway accepts, signed with the key under .local/ (made by the first
// `npm start`, or here if there is none yet).
import { claimNames, mintDevToken } from './dev-tokens.js';
import { loadOrCreateSecrets } from './secrets.js';
import { stateDirFrom } from './paths.js';

const USAGE = `usage: npm run token -- --customer <customer_id> [--name <customer name>] [--admin] [--expires-in <seconds>]
  --customer    the customer the token acts for (its customer_id claim)
  --name        the customer_name claim (shown on Finch Connect)
  --admin       a server-to-server token (admin scope): it names the customer on every request
  --expires-in  lifetime in seconds (default 3600; 0 or less: already expired)`;

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const options: { customer?: string; name?: string; admin: boolean; expiresIn?: number } = { admin: false };
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split(/=(.*)/s, 2);
  const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
  if (flag === '--customer') options.customer = value();
  else if (flag === '--name') options.name = value();
  else if (flag === '--admin') options.admin = true;
  else if (flag === '--expires-in') {
    const seconds = Number(value());
    if (!Number.isInteger(seconds)) fail('--expires-in must be a whole number of seconds');
    options.expiresIn = seconds;
  } else if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); } else fail(`unknown option ${args[i]}`);
}
if (!options.customer && !options.admin) fail('--customer is required (or --admin for a server-to-server token)');

const names = claimNames(process.env);
const secrets = await loadOrCreateSecrets(stateDirFrom(process.env));
console.log(await mintDevToken(secrets, names, {
  customer_id: options.customer,
  customer_name: options.name,
  scope: options.admin ? names.adminScope : undefined,
  expires_in: options.expiresIn,
}));
