export { DASHBOARD_FILE, type DashboardOptions, escapeHtml, renderDashboard } from './dashboard.ts';
export {
  countStates,
  DEFAULT_EXPIRING_WITHIN_MS,
  DEVICE_STATES,
  type DeviceState,
  type FleetRow,
  type FleetStatus,
  filterVocabulary,
  fleetStatus,
  type StateCounts,
  type StatusFilters,
  stateLabel,
} from './fleet.ts';
export { type StatusDocument, statusDocument, statusJson } from './json.ts';
export { statusMarkdown } from './markdown.ts';
export { statusPrometheus } from './prometheus.ts';
export { statusText } from './text.ts';
