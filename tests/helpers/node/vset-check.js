// node-redis (npm `redis`, pinned in package.json) against a vectis server:
// the typed vector-set methods (vAdd, vSim, vSimWithScores, vCard, vDim,
// vEmb, vEmbRaw, vInfo, vSetAttr, vGetAttr, vLinks, vLinksWithScores,
// vRandMember, vRange, vRem) on the points example of the vector-set docs,
// in RESP3 (the protocol the issue asks for) and again in RESP2, so both of
// the library's reply transforms are exercised.
//
// Usage: node vset-check.js <port>. Prints one "ok <name>" line per check
// and "ALL OK" at the end; exits 1 with the failed assertion otherwise.
// Run by tests/tcl/integration/vset-clients.tcl.

'use strict';

const assert = require('node:assert/strict');
const { createClient } = require('redis');

const port = Number(process.argv[2]);
const points = {
    'pt:A': [1.0, 1.0],
    'pt:B': [-1.0, -1.0],
    'pt:C': [-1.0, 1.0],
    'pt:D': [1.0, -1.0],
    'pt:E': [1.0, 0.0],
};
const attrs = {
    'pt:A': { size: 'large', price: 18.99 },
    'pt:B': { size: 'large', price: 35.99 },
    'pt:C': { size: 'large', price: 25.99 },
    'pt:D': { size: 'small', price: 21.0 },
    'pt:E': { size: 'small', price: 17.75 },
};

function near(a, b, tol, what) {
    assert.ok(typeof a === 'number' && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

function cosScore(a, b) {
    const dot = a[0] * b[0] + a[1] * b[1];
    const na = Math.hypot(a[0], a[1]);
    const nb = Math.hypot(b[0], b[1]);
    return (1 + dot / (na * nb)) / 2;
}

async function run(resp) {
    const tag = `resp${resp}`;
    const ok = (name) => console.log(`ok ${tag} ${name}`);
    const client = createClient({ url: `redis://127.0.0.1:${port}`, RESP: resp });
    client.on('error', (e) => console.error(`client error (${tag}):`, e.message));
    await client.connect();
    const key = `points:${tag}`;
    await client.del(key);

    for (const [name, vec] of Object.entries(points)) {
        assert.equal(await client.vAdd(key, vec, name), true, `vAdd ${name}`);
    }
    // Update: false, and the set keeps five elements.
    assert.equal(await client.vAdd(key, points['pt:A'], 'pt:A'), false);
    ok('vAdd');
    assert.equal(await client.vCard(key), 5);
    assert.equal(await client.vDim(key), 2);
    assert.equal(await client.type(key), 'vectorset');
    ok('vCard vDim type');

    assert.deepEqual(await client.vSim(key, [0.9, 0.1]), ['pt:E', 'pt:A', 'pt:D', 'pt:C', 'pt:B']);
    assert.deepEqual(await client.vSim(key, 'pt:A', { COUNT: 2 }), ['pt:A', 'pt:E']);
    assert.deepEqual(await client.vSim(key, [0.9, 0.1], { COUNT: 3, EF: 50, TRUTH: true }),
        ['pt:E', 'pt:A', 'pt:D']);
    assert.deepEqual(await client.vSim(key, [1, 0], { EPSILON: 0.2 }).then((r) => r.sort()),
        ['pt:A', 'pt:D', 'pt:E']);
    ok('vSim');

    const scored = await client.vSimWithScores(key, [0.9, 0.1]);
    assert.deepEqual(Object.keys(scored), ['pt:E', 'pt:A', 'pt:D', 'pt:C', 'pt:B']);
    for (const [name, vec] of Object.entries(points)) {
        near(scored[name], cosScore([0.9, 0.1], vec), 0.01, `score of ${name}`);
    }
    const self = await client.vSimWithScores(key, 'pt:A', { COUNT: 1 });
    near(self['pt:A'], 1.0, 0.001, 'self score');
    ok('vSimWithScores');

    const emb = await client.vEmb(key, 'pt:E');
    assert.equal(emb.length, 2);
    near(emb[0], 1.0, 0.02, 'vEmb[0]');
    near(emb[1], 0.0, 0.02, 'vEmb[1]');
    // The library's RESP2 transform of VEMB cannot take a null reply either
    // (it maps over it), whatever the server; RESP3 checks the null.
    if (resp === 3) assert.equal(await client.vEmb(key, 'nosuch'), null);
    const raw = await client.vEmbRaw(key, 'pt:A');
    assert.equal(String(raw.quantization), 'int8');
    near(Number(raw.l2Norm), Math.SQRT2, 1e-4, 'l2Norm');
    ok('vEmb vEmbRaw');

    const info = await client.vInfo(key);
    assert.equal(String(info['quant-type']), 'int8');
    assert.equal(Number(info['vector-dim']), 2);
    assert.equal(Number(info['size']), 5);
    assert.equal(Number(info['hnsw-m']), 16);
    // The library's RESP2 transform of VINFO cannot take the null array.
    if (resp === 3) assert.equal(await client.vInfo('nokey'), null);
    ok('vInfo');

    for (const [name, a] of Object.entries(attrs)) {
        assert.equal(await client.vSetAttr(key, name, a), true, `vSetAttr ${name}`);
    }
    assert.deepEqual(await client.vGetAttr(key, 'pt:A'), attrs['pt:A']);
    assert.equal(await client.vGetAttr(key, 'nosuch'), null);
    assert.equal(await client.vSetAttr(key, 'nosuch', { x: 1 }), false);
    ok('vSetAttr vGetAttr');

    assert.deepEqual(await client.vSim(key, 'pt:A', { FILTER: '.size == "large"' }), ['pt:A', 'pt:C', 'pt:B']);
    assert.deepEqual(await client.vSim(key, 'pt:A', { FILTER: '.size == "large" && .price > 20.00' }),
        ['pt:C', 'pt:B']);
    assert.deepEqual(await client.vSim(key, [0.9, 0.1], { FILTER: '.price < 20', 'FILTER-EF': 100 }),
        ['pt:E', 'pt:A']);
    ok('vSim FILTER');

    // vectis links an element once the background index has it
    for (let i = 0; i < 200; i++) {
        if (String(await client.info('vectors')).includes('rows_unindexed:0')) break;
        await new Promise((res) => setTimeout(res, 10));
    }
    const links = await client.vLinks(key, 'pt:A');
    assert.ok(Array.isArray(links) && links.length >= 1, `vLinks ${JSON.stringify(links)}`);
    const layer0 = links[links.length - 1].map(String);
    assert.ok(layer0.length >= 1, `vLinks layer 0 ${JSON.stringify(links)}`);
    for (const n of layer0) assert.ok(['pt:B', 'pt:C', 'pt:D', 'pt:E'].includes(n), n);
    const wl = await client.vLinksWithScores(key, 'pt:A');
    const wl0 = wl[wl.length - 1];
    // each score is the cosine score of pt:A (1, 1) with that neighbour
    for (const [n, sc] of Object.entries(wl0)) {
        assert.ok(layer0.includes(n), n);
        assert.ok(Number(sc) >= 0 && Number(sc) <= 1, `${n} ${sc}`);
    }
    ok('vLinks vLinksWithScores');

    const one = await client.vRandMember(key);
    assert.ok(Object.keys(points).includes(String(one)), `vRandMember ${one}`);
    const many = await client.vRandMember(key, 3);
    assert.equal(many.length, 3);
    assert.equal(new Set(many.map(String)).size, 3);
    assert.equal((await client.vRandMember(key, -7)).length, 7);
    ok('vRandMember');

    assert.deepEqual((await client.vRange(key, '-', '+')).map(String),
        ['pt:A', 'pt:B', 'pt:C', 'pt:D', 'pt:E']);
    assert.deepEqual((await client.vRange(key, '(pt:A', '[pt:C', 2)).map(String), ['pt:B', 'pt:C']);
    ok('vRange');

    await assert.rejects(client.vAdd(key, [1, 2, 3], 'bad'), /Vector dimension mismatch - got 3 but set has 2/);
    await assert.rejects(client.vSim(key, 'nosuch'), /element not found in set/);
    ok('errors');

    for (const name of Object.keys(points)) {
        assert.equal(await client.vRem(key, name), true, `vRem ${name}`);
    }
    assert.equal(await client.vRem(key, 'pt:A'), false);
    assert.equal(await client.exists(key), 0);
    assert.deepEqual(await client.vSim(key, [1, 0]), []);
    ok('vRem deletes the key');

    await client.close();
}

(async () => {
    await run(3);
    await run(2);
    console.log('ALL OK');
})().catch((e) => {
    console.error('FAILED:', e && e.stack ? e.stack : e);
    process.exit(1);
});
