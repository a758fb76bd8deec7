// Retraining from the store's history: a days field, then a progress bar that
// follows the server's job (polled once a second) until the model is registered.
import { RoleButton } from '../../auth/RoleButton';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { describeError, isAbort } from '../../api';
import { fetchJob, fetchJobs, startTraining, type TrainingJob } from './api';
import { MAX_DAYS, MIN_DAYS, elapsed, isActive, parseDays, progressLabel, progressPercent } from './jobs';

const POLL_MS = 1000;

export function RetrainCard({
  onRegistered,
  onPromote,
}: {
  onRegistered: (version: string) => void;
  onPromote: (version: string) => void;
}) {
  const [daysText, setDaysText] = useState('7');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [job, setJob] = useState<TrainingJob | null>(null);
  const [pollError, setPollError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const announced = useRef(new Set<string>());

  // A job already under way (the demo's first model, another tab's retraining) shows too.
  useEffect(() => {
    const controller = new AbortController();
    fetchJobs(controller.signal).then(
      ({ jobs }) => {
        const newest = jobs[0];
        if (newest) {
          // Finished before this page opened: nothing new to announce.
          if (!isActive(newest)) announced.current.add(newest.job_id);
          setJob((current) => current ?? newest);
        }
      },
      (error: unknown) => {
        if (!isAbort(error)) setPollError(describeError(error));
      },
    );
    return () => controller.abort();
  }, []);

  const active = isActive(job);
  const jobId = job?.job_id;
  useEffect(() => {
    if (!active || !jobId) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      fetchJob(jobId, controller.signal)
        .then(
          (next) => {
            setPollError(null);
            setJob(next);
          },
          (error: unknown) => {
            if (!isAbort(error)) setPollError(describeError(error));
          },
        )
        .finally(() => {
          if (!controller.signal.aborted) timer = setTimeout(poll, POLL_MS);
        });
    };
    timer = setTimeout(poll, POLL_MS);
    const clock = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(clock);
    };
  }, [active, jobId]);

  useEffect(() => {
    if (job?.state === 'succeeded' && job.version && !announced.current.has(job.job_id)) {
      announced.current.add(job.job_id);
      onRegistered(job.version);
    }
  }, [job, onRegistered]);

  const submit = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      const parsed = parseDays(daysText);
      if ('error' in parsed) {
        setFieldError(parsed.error);
        return;
      }
      setFieldError(null);
      setSubmitError(null);
      setSubmitting(true);
      startTraining(parsed.days).then(
        ({ job: started }) => {
          setJob(started);
          setNow(Date.now());
          setSubmitting(false);
        },
        (error: unknown) => {
          setSubmitError(describeError(error));
          setSubmitting(false);
        },
      );
    },
    [daysText],
  );

  const percent = job ? progressPercent(job) : 0;
  return (
    <section className="card card-stack" aria-labelledby="retrain-title" data-testid="retrain-card">
      <header className="card-header predictions-card-header">
        <h3 id="retrain-title" className="card-title">Retrain</h3>
      </header>
      <form className="predictions-form predictions-inline-form" onSubmit={submit} noValidate>
        <label htmlFor="retrain-days">Days of history</label>
        <input
          id="retrain-days"
          type="number"
          inputMode="numeric"
          min={MIN_DAYS}
          max={MAX_DAYS}
          step={1}
          value={daysText}
          onChange={(e) => setDaysText(e.target.value)}
          aria-invalid={fieldError ? true : undefined}
          aria-describedby="retrain-days-help"
          data-testid="retrain-days"
        />
        <RoleButton
          capability="models.train"
          type="submit"
          className="predictions-primary"
          disabled={submitting || active}
          data-testid="retrain-start"
        >
          {active ? 'Training…' : 'Start retraining'}
        </RoleButton>
      </form>
      <p id="retrain-days-help" className={fieldError ? 'predictions-error' : 'predictions-muted'} role={fieldError ? 'alert' : undefined}>
        {fieldError ??
          `The store's last ${MIN_DAYS}–${MAX_DAYS} days of 5-minute windows, ending at the newest data. The new model is registered, not promoted.`}
      </p>
      {submitError && (
        <p className="predictions-error" role="alert" data-testid="retrain-error">
          {submitError}
        </p>
      )}
      {job && (
        <div className="predictions-job" data-testid="retrain-job" data-state={job.state} data-job-id={job.job_id}>
          <div
            className={`predictions-progress predictions-progress-${job.state}`}
            role="progressbar"
            aria-label="Training progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={progressLabel(job)}
            data-testid="retrain-progress"
          >
            <div className="predictions-progress-fill" style={{ width: `${percent}%` }} />
          </div>
          <p className="predictions-stage" aria-live="polite" data-testid="retrain-stage">
            {progressLabel(job)}
            {job.started_at && <span className="predictions-muted"> · {elapsed(job, now)}</span>}
          </p>
          <p className="predictions-muted">
            {job.source} · job {job.job_id.slice(0, 8)}
          </p>
          {job.state === 'succeeded' && job.version && !job.promoted && (
            <RoleButton
              capability="models.manage"
              type="button"
              onClick={() => onPromote(job.version ?? '')}
              data-testid="retrain-promote"
            >
              Promote {job.version}…
            </RoleButton>
          )}
          {pollError && (
            <p className="predictions-error" role="alert">
              Lost track of the job: {pollError}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
