import { createRoot } from 'react-dom/client';
import './i18n';
import './panel.css';
import { App } from './App';

createRoot(document.getElementById('root')!).render(<App />);
