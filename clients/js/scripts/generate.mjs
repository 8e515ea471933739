// Generates src/generated/ from the program's Anchor IDL (../../idl/perps.json) with Codama.
// Run with `npm run generate`; the output is committed and the tests check it against the
// Rust client's golden vectors.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';
import {
  accountNode,
  createFromRoot,
  definedTypeLinkNode,
  definedTypeNode,
  programNode,
  rootNode,
  structFieldTypeNode,
  structTypeNode,
} from 'codama';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--check`: render into a temporary folder and fail if src/generated differs (CI).
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'perps-codama-')) : packageDir;
const idl = JSON.parse(readFileSync(join(packageDir, '..', '..', 'idl', 'perps.json'), 'utf8'));

const root = rootNodeFromAnchor(idl);

// nodes-from-anchor turns the IDL's events into eventNodes (the payload behind its 8-byte
// discriminator) and drops their types from the defined types, but renderers-js 2.2.0 renders
// no eventNodes while the PerpsEvent enum still links to them (Fill, OrderPlaced, ...): the
// generated code would not compile. Each event's payload becomes a defined type again; the
// hand-written src/events.ts adds the discriminators.
const eventTypes = (root.program.events ?? []).map((event) =>
  definedTypeNode({
    name: event.name,
    docs: event.docs,
    type: event.data.kind === 'hiddenPrefixTypeNode' ? event.data.type : event.data,
  }),
);

// The Market embeds a Position (its ADL book, `adl_book`) as a plain struct, without the
// account's discriminator; nodes-from-anchor keeps only the Position *account* (discriminator
// first) and links the field to a type that is no longer defined. The field is relinked to
// `EmbeddedPosition`: the Position account's fields without its discriminator.
const accountBody = (account) =>
  structTypeNode(account.data.fields.filter((field) => field.name !== 'discriminator'));
const accountNames = new Set(root.program.accounts.map((account) => account.name));
const embedded = new Map();
const relink = (type) => {
  if (type.kind === 'definedTypeLinkNode' && accountNames.has(type.name)) {
    const name = `embedded${type.name[0].toUpperCase()}${type.name.slice(1)}`;
    embedded.set(name, type.name);
    return definedTypeLinkNode(name);
  }
  return type;
};
const accounts = root.program.accounts.map((account) =>
  accountNode({
    ...account,
    data: structTypeNode(
      account.data.fields.map((field) => structFieldTypeNode({ ...field, type: relink(field.type) })),
    ),
  }),
);
const embeddedTypes = [...embedded].map(([name, accountName]) =>
  definedTypeNode({
    name,
    docs: [`The ${accountName} account's data without its discriminator, as another account embeds it.`],
    type: accountBody(root.program.accounts.find((account) => account.name === accountName)),
  }),
);

const program = programNode({
  ...root.program,
  accounts,
  definedTypes: [...root.program.definedTypes, ...eventTypes, ...embeddedTypes],
  events: [],
});
const codama = createFromRoot(rootNode(program, root.additionalPrograms));
await codama.accept(
  renderVisitor(outDir, {
    generatedFolder: 'src/generated',
    // The package pins its own dependencies; the renderer must not rewrite package.json.
    syncPackageJson: false,
    // Everything from @solana/kit, the package's one runtime dependency.
    kitImportStrategy: 'rootOnly',
  }),
);

function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

if (check) {
  const fresh = join(outDir, 'src', 'generated');
  const committed = join(packageDir, 'src', 'generated');
  const [a, b] = [files(fresh), files(committed)];
  const stale = [...new Set([...a, ...b])].filter(
    (file) =>
      !a.includes(file) ||
      !b.includes(file) ||
      readFileSync(join(fresh, file), 'utf8') !== readFileSync(join(committed, file), 'utf8'),
  );
  rmSync(outDir, { recursive: true, force: true });
  if (stale.length > 0) {
    console.error(`src/generated is not what idl/perps.json generates (run npm run generate): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log('src/generated is up to date with idl/perps.json');
} else {
  console.log('generated', join(packageDir, 'src', 'generated'));
}
