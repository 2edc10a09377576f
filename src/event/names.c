#include "event/event.h"
