// The forecasting workspace: the model registry (promote, roll back), retraining
// with progress, live accuracy per model and horizon, a forecast on demand and the
// live forecaster's settings.
import { useCallback, useState } from 'react';
import { useReconnect } from '../../live/LiveProvider';
import { AccuracyCard } from './AccuracyCard';
import { fetchModels } from './api';
import { ForecastCard } from './ForecastCard';
import { ModelRegistry } from './ModelRegistry';
import { RetrainCard } from './RetrainCard';
import { SettingsCard } from './SettingsCard';
import { useLoad } from './useLoad';
import './predictions.css';

export default function PredictionsPage() {
  const models = useLoad(fetchModels);
  useReconnect(models.reload);
  const [highlight, setHighlight] = useState<string | null>(null);
  const [promoteRequest, setPromoteRequest] = useState<string | null>(null);
  const { reload } = models;

  const onRegistered = useCallback(
    (version: string) => {
      setHighlight(version);
      reload();
    },
    [reload],
  );
  const clearPromoteRequest = useCallback(() => setPromoteRequest(null), []);

  return (
    <div className="predictions-page" data-testid="predictions-page">
      <h2 className="predictions-title">Predictions</h2>
      <div className="predictions-grid">
        <ModelRegistry
          models={models}
          highlight={highlight}
          promoteRequest={promoteRequest}
          onPromoteRequestHandled={clearPromoteRequest}
        />
        <RetrainCard onRegistered={onRegistered} onPromote={setPromoteRequest} />
        <SettingsCard />
        <AccuracyCard liveVersion={models.data?.live_model_version ?? null} />
        <ForecastCard models={models.data} />
      </div>
    </div>
  );
}
