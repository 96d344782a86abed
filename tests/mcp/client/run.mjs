// The official MCP TypeScript SDK's client, driven by the mcp suite
// (tests/mcp/test_sdk.py): one scenario, given as JSON on stdin, against
// `runbox mcp` over stdio or `runbox serve` over Streamable HTTP; one JSON
// document on stdout saying what happened at each step.
//
// Scenario: {
//   "transport": "stdio" | "http",
//   "command": [...argv], "env": {...}, "cwd": "..."   (stdio)
//   "url": "http://127.0.0.1:PORT/mcp", "headers": {...} (http)
//   "version": "2025-06-18"   (the protocolVersion initialize asks for; default the SDK's)
//   "steps": [ {"op": "list"} | {"op": "call", "name", "arguments", "progress",
//               "timeoutMs", "resetTimeoutOnProgress", "abortAfterMs", "delayMs"} |
//              {"op": "sleep", "ms"} |
//              {"op": "parallel", "steps": [...]} | {"op": "terminate"} ]
// }
// Output: {"connected", "version", "sessionId", "error", "results": [...]}.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Ajv from 'ajv';

const input = JSON.parse(await new Promise((resolve) => {
    let data = '';
    process.stdin.on('data', (c) => { data += c; });
    process.stdin.on('end', () => resolve(data));
}));

function errorOf(e) {
    return { message: String(e && e.message ? e.message : e), code: e && e.code !== undefined ? e.code : null };
}

function makeTransport(sc) {
    if (sc.transport === 'stdio') {
        return new StdioClientTransport({
            command: sc.command[0], args: sc.command.slice(1), env: sc.env, cwd: sc.cwd, stderr: 'ignore',
        });
    }
    return new StreamableHTTPClientTransport(new URL(sc.url), { requestInit: { headers: sc.headers || {} } });
}

// initialize asks for sc.version instead of the SDK's newest, when given.
function askVersion(transport, version) {
    if (!version) {
        return transport;
    }
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
        if (message.method === 'initialize') {
            message = { ...message, params: { ...message.params, protocolVersion: version } };
        }
        return send(message, options);
    };
    return transport;
}

// Every schema of every tool compiles as a JSON Schema.
function checkSchemas(tools) {
    const ajv = new Ajv({ strict: false });
    const problems = [];
    for (const t of tools) {
        for (const key of ['inputSchema', 'outputSchema']) {
            if (!t[key]) {
                continue;
            }
            try {
                ajv.compile(t[key]);
            } catch (e) {
                problems.push(`${t.name}.${key}: ${e.message}`);
            }
        }
    }
    return problems;
}

async function call(client, step) {
    if (step.delayMs) {
        await new Promise((r) => setTimeout(r, step.delayMs));
    }
    const progress = [];
    const t0 = Date.now();
    const options = {};
    if (step.progress) {
        options.onprogress = (p) => progress.push({ ...p, at_ms: Date.now() - t0 });
    }
    if (step.timeoutMs) {
        options.timeout = step.timeoutMs;
    }
    if (step.resetTimeoutOnProgress) {
        options.resetTimeoutOnProgress = true;
    }
    if (step.abortAfterMs !== undefined) {
        const ac = new AbortController();
        setTimeout(() => ac.abort('the test cancels'), step.abortAfterMs);
        options.signal = ac.signal;
    }
    try {
        const result = await client.callTool({ name: step.name, arguments: step.arguments }, undefined, options);
        return { op: 'call', result, progress, ms: Date.now() - t0 };
    } catch (e) {
        return { op: 'call', error: errorOf(e), progress, ms: Date.now() - t0 };
    }
}

async function step(client, transport, s) {
    switch (s.op) {
    case 'list': {
        try {
            const r = await client.listTools();
            return { op: 'list', tools: r.tools, schemaProblems: checkSchemas(r.tools) };
        } catch (e) {
            return { op: 'list', error: errorOf(e) };
        }
    }
    case 'call':
        return call(client, s);
    case 'parallel':
        return { op: 'parallel', results: await Promise.all(s.steps.map((x) => step(client, transport, x))) };
    case 'sleep':
        await new Promise((r) => setTimeout(r, s.ms));
        return { op: 'sleep' };
    case 'terminate':
        try {
            await transport.terminateSession();
            return { op: 'terminate', sessionId: transport.sessionId || null };
        } catch (e) {
            return { op: 'terminate', error: errorOf(e) };
        }
    default:
        throw new Error(`unknown op ${s.op}`);
    }
}

const out = { connected: false, results: [] };
const transport = askVersion(makeTransport(input), input.version);
// The version the server answered: the Client hands it to the transport.
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => {
    out.negotiated = v;
    setVersion?.(v);
};
const client = new Client({ name: 'runbox-tests', version: '1.0.0' });
try {
    await client.connect(transport);
    out.connected = true;
    out.sessionId = transport.sessionId || null;
    out.server = client.getServerVersion();
    for (const s of input.steps || []) {
        out.results.push(await step(client, transport, s));
    }
} catch (e) {
    out.error = errorOf(e);
}
try {
    await client.close();
} catch (e) {
    out.closeError = errorOf(e);
}
// Exit once the document is written whole (a pipe takes it asynchronously).
process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
