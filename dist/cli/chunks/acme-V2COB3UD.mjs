import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{DEFAULT_REGISTER_TIMEOUT_MS,directoryFor,registerAccount}from"./chunk-E5DOOPRQ.mjs";import"./chunk-EP3OPIVE.mjs";import{resolveRoot}from"./chunk-27XEHK3K.mjs";import{loadRepository}from"./chunk-SKIQOEDE.mjs";import"./chunk-JZFHMUY6.mjs";import"./chunk-IUOTGP64.mjs";import"./chunk-O7EFJVTC.mjs";import{EXIT_FINDINGS,EXIT_OK,UsageError,parseFlags}from"./chunk-PBN7SNBO.mjs";import{didYouMean}from"./chunk-JVT3TPL2.mjs";import"./chunk-FAN7MTKL.mjs";import"./chunk-MT6B37ZR.mjs";import"./chunk-XGHPOX4F.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var DEFAULT_TIMEOUT_S=DEFAULT_REGISTER_TIMEOUT_MS/1e3,HELP=`Usage: ottr acme register --authority NAME [--staging | --directory URL] [--contact mailto:\u2026]
                         [--timeout SECONDS] [--root DIR]

Creates an ACME account for an authority of routing/settings.yaml with a new ECDSA P-256 key
and prints the key ONCE on standard output. Store it as the secret the authority names in
account_key_secret (e.g. "gh secret set LE_ACCOUNT_KEY --env pki < key.pem"); it is not kept
anywhere else. With eab configured, the EAB key id and HMAC key are read from the secrets it
names (environment variables of those names). Progress goes to standard error, so
"ottr acme register --authority lets_encrypt > key.pem" captures only the key.

The directory is fetched first: a CA that cannot be reached fails at once with the reason
("cannot reach URL: ECONNREFUSED", "ENOTFOUND", "timeout after N s"). Requests go through
the proxy HTTPS_PROXY names unless NO_PROXY exempts the CA's host (docs/proxy.md).

Options:
  --authority NAME   a key of authorities in routing/settings.yaml
  --staging          use the authority's staging_directory
  --directory URL    use this ACME directory instead (a test CA)
  --contact URI      account contact, e.g. mailto:pki@example.com (repeatable)
  --timeout SECONDS  longest wait for each answer of the CA, name lookup included (default ${DEFAULT_TIMEOUT_S})
  --root DIR         repository root (default: current directory)`,acmeCommand={name:"acme",summary:"ACME account management: acme register --authority NAME",help:HELP,async run(argv,io){let{values,positionals}=parseFlags(argv,{authority:{type:"string"},staging:{type:"boolean"},directory:{type:"string"},contact:{type:"string",multiple:!0},timeout:{type:"string"},root:{type:"string"}},!0);if(positionals[0]!=="register"||positionals.length!==1)throw new UsageError('the only subcommand is "register"');if(!values.authority)throw new UsageError("--authority is required");if(values.staging&&values.directory)throw new UsageError("give --staging or --directory, not both");let timeoutS=values.timeout===void 0?DEFAULT_TIMEOUT_S:Number(values.timeout);if(!Number.isFinite(timeoutS)||timeoutS<=0||timeoutS>600)throw new UsageError("--timeout must be a number of seconds between 0 and 600");let repository=await loadRepository(resolveRoot(values.root,io.cwd));if(!repository.settings)return io.stderr(`ottr acme: routing/settings.yaml is missing or invalid (ottr validate shows why)
`),EXIT_FINDINGS;let authority=repository.settings.authorities[values.authority];if(!authority)throw new UsageError(`no authority "${values.authority}"${didYouMean(values.authority,Object.keys(repository.settings.authorities))}`);let directory;try{directory=directoryFor(authority,{...values.staging?{staging:!0}:{},...values.directory?{directory:values.directory}:{}})}catch(error){throw new UsageError(error.message)}io.stderr(`registering an account at ${directory} \u2026
`);try{let registration=await registerAccount(authority,directory,io.env,values.contact??[],timeoutS*1e3);return io.stderr(`account ${registration.accountUrl} created; its key follows on standard output.
`),io.stderr(`store it as the secret ${authority.account_key_secret}; it is shown only this once.
`),io.stdout(registration.accountKeyPem.endsWith(`
`)?registration.accountKeyPem:`${registration.accountKeyPem}
`),EXIT_OK}catch(error){return io.stderr(`ottr acme: registration failed: ${error.message}
`),EXIT_FINDINGS}}};export{acmeCommand};
