#ifndef OUTPOST_CLINUXGPIO_H
#define OUTPOST_CLINUXGPIO_H

/*
 * The kernel's GPIO character device, uAPI v2 (Linux 5.10 and later), as Swift sees it.
 *
 * The structs are the kernel's own from <linux/gpio.h>, so their layout is the kernel's. The
 * ioctl request numbers are function-like macros Swift cannot import, so each ioctl we use has
 * a small function here; Swift reads and writes the structs' fields (and the members of the
 * attribute's anonymous union) directly. Every function returns 0, or a new file descriptor, on
 * success and -errno on failure, and leaves the caller's errno as it was.
 */

#include <linux/gpio.h>

/* GPIO_GET_CHIPINFO_IOCTL on a chip's file descriptor: fills `info` (name, label, lines). */
int outpost_gpio_chip_info(int chip_fd, struct gpiochip_info *info);

/*
 * GPIO_V2_GET_LINEINFO_IOCTL on a chip's file descriptor for the line at `info->offset`:
 * fills its name, consumer and flags.
 */
int outpost_gpio_line_info(int chip_fd, struct gpio_v2_line_info *info);

/*
 * GPIO_V2_GET_LINE_IOCTL on a chip's file descriptor: requests the lines `request` names with
 * its configuration. Returns the line request's file descriptor (also left in `request->fd`),
 * or -errno.
 */
int outpost_gpio_request_lines(int chip_fd, struct gpio_v2_line_request *request);

/* GPIO_V2_LINE_SET_VALUES_IOCTL on a line request: drives the lines `values->mask` selects. */
int outpost_gpio_set_values(int request_fd, struct gpio_v2_line_values *values);

/* GPIO_V2_LINE_GET_VALUES_IOCTL on a line request: reads the lines `values->mask` selects. */
int outpost_gpio_get_values(int request_fd, struct gpio_v2_line_values *values);

#endif
