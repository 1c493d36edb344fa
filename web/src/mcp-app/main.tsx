/** Entry point of the MCP app (web/mcp-app.html): the chat page's stylesheet and the task list view. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../styles.css';
import { TaskListApp } from './task-list-app.tsx';

const root = document.getElementById('root');
if (!root) throw new Error('mcp-app.html lost its #root element');
createRoot(root).render(
  <StrictMode>
    <TaskListApp />
  </StrictMode>,
);
