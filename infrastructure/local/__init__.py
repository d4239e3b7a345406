"""The local stack: an embedded moto server, every resource of the definition, one HTTP
gateway for every service, queue pollers and schedules, all in one process."""
