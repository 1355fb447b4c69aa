"""The polite listings scraper: a site config in, new listings into the lake's raw zone.

robots.txt is obeyed (RFC 9309, parsed by Protego), each host gets at most one request per
interval (the configured rate or its crawl-delay, whichever is slower), failures are retried
with backoff honouring Retry-After, a 403 or a CAPTCHA page stops the run, and only property
fields are kept. State (seen listing ids, the page cursor) lives in the lake, so a run resumes
after a crash without duplicates. Entry point: `homeprice.scraping.run.scrape`.
"""
