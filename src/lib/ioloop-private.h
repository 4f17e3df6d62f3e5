#ifndef OMBU_IOLOOP_PRIVATE_H
#define OMBU_IOLOOP_PRIVATE_H

#include "ioloop.h"
#include <event2/event.h>

struct event_base *ioloop_base(struct ioloop *loop);

#endif
