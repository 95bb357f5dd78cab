export { Monitor, type MonitorOptions } from './monitor.js';
export { createMailer, type Mailer, type Mail, type MailerOptions } from './mailer.js';
export { DeathDetector, type Detection, type TrackedNode } from './detect.js';
export { Notifier } from './notify.js';
export { incidentLink, openingMail, recoveryMail, type MailContext } from './templates.js';
