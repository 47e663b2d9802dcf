import { describe, expect, it } from 'vitest';
import { awsSessionSeconds } from '../../src/jobs/plan-job.ts';

describe('a rotate job’s AWS session lasts the whole job', () => {
  it('is the job timeout in seconds, within STS’s 15 minutes to 12 hours', () => {
    expect(awsSessionSeconds(25)).toBe(1500);
    expect(awsSessionSeconds(70)).toBe(4200); // past configure-aws-credentials' default hour
    expect(awsSessionSeconds(5)).toBe(900);
    expect(awsSessionSeconds(1000)).toBe(43_200);
  });
});
