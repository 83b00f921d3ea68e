#ifndef OUTPOST_CLINUXGPIO_H
#define OUTPOST_CLINUXGPIO_H
#include <linux/gpio.h>
#endif
