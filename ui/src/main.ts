import { mount } from 'svelte';
import App from './App.svelte';
import { chooseTransport } from './lib/transport';

const target = document.getElementById('app');
if (target) mount(App, { target, props: { transport: chooseTransport() } });
