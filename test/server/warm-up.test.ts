// The startup warm-up: built-in sample reviews judged before the server listens, invisible to
// operators' counters, and the server answers as it would without it.
import { expect } from 'chai';
import { hardenedPod, insecurePod } from '../admission/objects.js';
import { admitVia, metricValue, reviewOf, startTestServer } from './harness.js';

describe('server: warm-up before listening', function () {
  this.timeout(30_000);

  it('judges the samples on both endpoints, counts none of them, then answers real reviews as usual', async () => {
    const server = await startTestServer({ warmUpRounds: 3 });
    try {
      const warmed = server.logs().find((l) => l.msg === 'warmed up');
      // 2 samples × 2 endpoints × 3 rounds, logged before the server said it was serving.
      expect(warmed?.judged).to.equal(12);
      expect(server.logs().findIndex((l) => l.msg === 'warmed up')).to.be.below(server.logs().findIndex((l) => l.msg === 'serving'));
      expect(server.logs().some((l) => l.msg === 'admission')).to.equal(false);
      expect((await admitVia(server, '/validate/enforce', reviewOf(insecurePod()))).allowed).to.equal(false);
      expect((await admitVia(server, '/validate/enforce', reviewOf(hardenedPod()))).allowed).to.equal(true);
      const text = (await server.get('/metrics')).text;
      expect(metricValue(text, 'gapguard_admission_duration_seconds_count', { endpoint: 'validate' })).to.equal(2);
      expect(metricValue(text, 'gapguard_admission_duration_seconds_count', { endpoint: 'mutate' })).to.equal(0);
      expect(metricValue(text, 'gapguard_findings_total', { gap: 'privileged', action: 'deny' })).to.equal(1);
    } finally {
      await server.close();
    }
  });
});
