// The explorer page: four independent sections; one failing never blanks out the others.
import './style.css';
import { section, showError } from './ui.ts';
import { renderArchitecture } from './arch.ts';
import { renderFilters } from './filters.ts';
import { setupTry } from './try.ts';
import { renderTraining } from './training.ts';

window.addEventListener('unhandledrejection', (e) => showError('Page', e.reason));
window.addEventListener('error', (e) => showError('Page', e.error ?? e.message));

void section('architecture', 'Architecture', async (b) => { await renderArchitecture(b); });
void section('filters', 'Filters', renderFilters);
void setupTry();
void section('training', 'Training', renderTraining);
